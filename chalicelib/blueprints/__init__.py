"""Thin HTTP and SQS handlers; each calls one service."""
