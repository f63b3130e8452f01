# The function: the `bootstrap` binary on provided.al2023, its asynchronous
# invocation settings (retries, then the failed-events queue) and recursive
# loop detection.

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Failed asynchronous events go to an on-failure destination (aws_lambda_function_event_invoke_config), which keeps more context than a dead-letter queue; configuring both would deliver each failure twice.
  #checkov:skip=CKV_AWS_117:Running in a VPC is opt-in (enable_vpc): the function talks only to S3, which it reaches over TLS with IAM authorization either way.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile that the operator owns; the package is built and deployed by scripts/deploy.sh from the repository.
  #checkov:skip=CKV_AWS_173:Environment variables hold no secrets (bucket names and settings); they are encrypted with the customer-managed key when enable_kms is on.
  function_name = local.function_name
  description   = "imgflow: five optimised variants of every upload to ${local.upload_bucket_name}"
  role          = aws_iam_role.function.arn

  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout

  reserved_concurrent_executions = var.reserved_concurrency

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.function.name
    application_log_level = var.log_level
    system_log_level      = var.system_log_level
  }

  environment {
    variables = local.function_environment
  }
  kms_key_arn = local.kms_key_arn

  dynamic "vpc_config" {
    for_each = var.enable_vpc ? [1] : []
    content {
      subnet_ids         = local.subnet_ids
      security_group_ids = local.security_group_ids
    }
  }

  tags = local.tags

  # The log group must exist with its retention before the first invocation,
  # and the role must be able to write it.
  depends_on = [
    aws_cloudwatch_log_group.function,
    aws_iam_role_policy.function,
  ]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.max_retry_attempts
  maximum_event_age_in_seconds = var.max_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failed_events.arn
    }
  }

  # Lambda checks that the role may send to the destination.
  depends_on = [aws_iam_role_policy.function]
}

# The function writes only to the processed bucket and ignores its own output,
# but should a loop ever form (e.g. a misconfigured notification), Lambda stops
# it after about 16 invocations instead of running up the bill.
resource "aws_lambda_function_recursion_config" "this" {
  function_name  = aws_lambda_function.this.function_name
  recursive_loop = "Terminate"
}
