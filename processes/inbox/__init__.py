"""The task inbox (待办): my items and my queues, overdue first."""
