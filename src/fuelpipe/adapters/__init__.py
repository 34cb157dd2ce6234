"""Adapters: SQLite, DynamoDB, SQS and one per HTTP source."""
