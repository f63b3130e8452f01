# What operators live in: the alarm topic, the alarms (data in alarms/, one
# JSON template per alarm) and the dashboard (dashboards/imgflow.json.tftpl).

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = local.alarm_topic_kms_key_arn
  tags              = local.tags
}

data "aws_iam_policy_document" "alarm_topic" {
  statement {
    sid       = "CloudWatchAlarmsOfThisAccountPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
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

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarm_topic.json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  # Values the alarm and dashboard templates may use.
  template_vars = {
    region                   = local.region
    function_name            = local.function_name
    metrics_namespace        = var.metrics_namespace
    service_name             = var.service_name
    timeout_ms               = var.timeout * 1000
    failed_events_queue_name = aws_sqs_queue.failed_events.name
    log_group_name           = aws_cloudwatch_log_group.function.name
    # 0 when unreserved: the one alarm that uses it exists only with a
    # reservation (its "only_with", below).
    reserved_concurrency = coalesce(var.reserved_concurrency, 0)
    # The dashboard's line at the reservation, none when unreserved.
    concurrency_annotations = var.reserved_concurrency == null ? {} : {
      horizontal = [{ label = "reserved", value = var.reserved_concurrency, color = "#d62728" }]
    }
  }

  # An alarm file may say "only_with": <setting>; it is then created only
  # when that setting is on. A name not listed here is an error.
  alarm_conditions = {
    always               = true
    reserved_concurrency = var.reserved_concurrency != null
  }

  alarm_specs = {
    for file in fileset(local.alarms_dir, "*.json") :
    trimsuffix(file, ".json") => jsondecode(templatefile("${local.alarms_dir}/${file}", local.template_vars))
  }
  alarms = {
    for name, spec in local.alarm_specs : name => spec
    if local.alarm_conditions[try(spec.only_with, "always")]
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name = "${var.name}-${each.key}"
  alarm_description = join(" ", [
    each.value.summary,
    "Severity: ${each.value.severity}.",
    "Runbook: ${var.runbook_base_url}/${basename(each.value.runbook)}",
  ])

  comparison_operator = each.value.comparison
  threshold           = tonumber(each.value.threshold)
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = try(each.value.datapoints_to_alarm, null)
  treat_missing_data  = each.value.treat_missing_data

  # A single metric...
  namespace          = try(each.value.metric.namespace, null)
  metric_name        = try(each.value.metric.metric_name, null)
  dimensions         = try(each.value.metric.dimensions, null)
  period             = try(each.value.metric.period, null)
  statistic          = try(each.value.metric.statistic, null)
  extended_statistic = try(each.value.metric.extended_statistic, null)

  # ...or metric math over several.
  dynamic "metric_query" {
    for_each = try(each.value.metrics, [])
    content {
      id          = metric_query.value.id
      label       = try(metric_query.value.label, null)
      expression  = try(metric_query.value.expression, null)
      return_data = try(metric_query.value.return_data, false)

      dynamic "metric" {
        for_each = try(metric_query.value.expression, null) == null ? [metric_query.value] : []
        content {
          namespace   = metric.value.namespace
          metric_name = metric.value.metric_name
          dimensions  = metric.value.dimensions
          period      = metric.value.period
          stat        = metric.value.stat
        }
      }
    }
  }

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]

  tags = merge(local.tags, {
    "imgflow:severity" = each.value.severity
    "imgflow:runbook"  = each.value.runbook
  })

  lifecycle {
    precondition {
      condition     = contains(["critical", "warning"], each.value.severity)
      error_message = "alarms/${each.key}.json: severity must be \"critical\" or \"warning\"."
    }
    precondition {
      condition     = startswith(each.value.runbook, "runbooks/") && endswith(each.value.runbook, ".md")
      error_message = "alarms/${each.key}.json: runbook must be a path runbooks/<name>.md."
    }
    precondition {
      condition     = (try(each.value.metric, null) == null) != (try(each.value.metrics, null) == null)
      error_message = "alarms/${each.key}.json: give either metric (one metric) or metrics (metric math), not both."
    }
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.dashboard_name
  dashboard_body = templatefile(local.dashboard_template, merge(local.template_vars, {
    alarm_arns = [for a in aws_cloudwatch_metric_alarm.this : a.arn]
  }))
}
