"""Adapters for SQS and DynamoDB behind small interfaces, each with an in-memory twin."""
