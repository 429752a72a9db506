"""A work queue with its dead-letter queue: encrypted, redriven, retained for 14 days."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib.stores.queues import MAX_RECEIVE_COUNT

RETENTION = cdk.Duration.days(14)


class QueueWithDlq(Construct):
    """`queue` redrives to `dlq` after MAX_RECEIVE_COUNT receives."""

    def __init__(
        self, scope: Construct, construct_id: str, *, name: str, visibility: cdk.Duration
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = sqs.Queue(
            self,
            "Dlq",
            queue_name=f"{name}-dlq",
            retention_period=RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=name,
            visibility_timeout=visibility,
            retention_period=RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dlq
            ),
        )
