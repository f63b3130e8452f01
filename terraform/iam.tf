# The function's role: least privilege, each statement on one resource (X-Ray
# and the VPC network-interface calls have no resource-level scoping).

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name                 = local.role_name
  description          = "Execution role of the ${local.function_name} Lambda function"
  assume_role_policy   = data.aws_iam_policy_document.assume_lambda.json
  max_session_duration = 3600
  tags                 = local.tags
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.this["upload"].arn}/*"]
  }

  statement {
    # Without it S3 answers 403 instead of 404 for an object deleted before it
    # was processed, and the function would retry it instead of skipping it.
    sid       = "TellMissingUploadsApart"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this["upload"].arn]
  }

  statement {
    # Delete: a record never half-lands, so variants already written are taken
    # back when another variant's put fails; an overwrite deletes the variants
    # it replaces, and a deleted upload its manifest and variants.
    sid       = "WriteVariants"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.this["processed"].arn}/*"]
  }

  statement {
    # The manifest in place (compared with each event), and the metadata of
    # variants an upload from before manifests left (found when it is
    # deleted). Conditional deletes by ETag need it too.
    sid       = "ReadManifests"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this["processed"].arn}/*"]
  }

  statement {
    # Without it a manifest not yet written answers 403, not 404; and the
    # variants of an upload without a manifest are found by listing its folder.
    sid       = "ListVariants"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this["processed"].arn]
  }

  statement {
    sid       = "SendFailedEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failed_events.arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }

  statement {
    sid       = "SendTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray has no resource-level permissions
  }

  dynamic "statement" {
    for_each = var.enable_kms ? [local.kms_key_arn] : []
    content {
      # Decrypt: read uploads and the environment; GenerateDataKey: write
      # variants and failed events.
      sid       = "UseDataKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.enable_vpc ? [1] : []
    content {
      sid = "ManageOwnNetworkInterfaces"
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = [
        "arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*",
        "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/*",
        "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/*",
      ]
    }
  }

  dynamic "statement" {
    for_each = var.enable_vpc ? [1] : []
    content {
      sid       = "DescribeNetwork"
      actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
      resources = ["*"] # Describe calls have no resource-level permissions
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = local.role_name
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}
