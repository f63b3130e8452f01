# The failed-events queue: the on-failure destination of the function's
# asynchronous invocations. An event that failed every retry, or grew too old,
# waits here 14 days for a redrive (runbooks/failed-events.md).

resource "aws_sqs_queue" "failed_events" {
  name                      = "${var.name}-failed-events"
  message_retention_seconds = 14 * 24 * 3600

  # SQS-managed SSE by default, the customer-managed key with enable_kms.
  sqs_managed_sse_enabled           = var.enable_kms ? null : true
  kms_master_key_id                 = local.kms_key_arn
  kms_data_key_reuse_period_seconds = var.enable_kms ? 300 : null

  tags = local.tags

  lifecycle {
    # KMS keys are regional: a key of another region is refused by every
    # service of the stack, half-way through an apply.
    precondition {
      condition     = var.kms_key_arn == null || try(split(":", var.kms_key_arn)[3] == local.region && split(":", var.kms_key_arn)[1] == local.partition, false)
      error_message = "kms_key_arn must be a key in the stack's region (${local.region}) and partition (${local.partition}): KMS keys are regional, got ${coalesce(var.kms_key_arn, "-")}."
    }
  }
}

data "aws_iam_policy_document" "failed_events" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.failed_events.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "failed_events" {
  queue_url = aws_sqs_queue.failed_events.id
  policy    = data.aws_iam_policy_document.failed_events.json
}
