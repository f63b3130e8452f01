"""The stack (terraform/), applied to moto server once per scenario (the
defaults and each of terraform/examples/*.tfvars), looked at as a security
review would: through the AWS APIs (boto3), not through Terraform's state.

Where moto does not keep a setting, the test says so and checks the plan of
the full configuration instead (what Terraform sends to AWS); see harness.py.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from harness import ACCOUNT_ID, REGION, REPO, Stack

FUNCTION = "imgflow"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"
# Global names carry the region (one account, several regions).
ROLE = f"{FUNCTION}-function-{REGION}"
DASHBOARD = f"{FUNCTION}-{REGION}"
ALARM_FILES = sorted((REPO / "alarms").glob("*.json"))
VARIANTS = ["compressed", "low", "webp", "png", "thumbnail"]

# BytesSaved is negative when a variant is larger than its source: the title says so.
CONCURRENCY_TITLE = "Concurrent executions: the function, and what the account has unreserved"
BYTES_SAVED_TITLE = "BytesSaved by variant (sum; below 0 = the variant is larger than its source, usual for png)"


def statements(document) -> list[dict]:
    doc = json.loads(document) if isinstance(document, str) else document
    st = doc["Statement"]
    return st if isinstance(st, list) else [st]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def deny_insecure_transport(policy: str, resources: set[str]) -> bool:
    for s in statements(policy):
        if (
            s.get("Effect") == "Deny"
            and s.get("Principal") in ("*", {"AWS": "*"})
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
            and resources <= set(as_list(s["Resource"]))
        ):
            return True
    return False


def kms_key_arn(stack: Stack) -> str | None:
    return stack.outputs.get("kms_key_arn")


# --- buckets --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["upload", "processed"])
def test_buckets_are_private_versioned_encrypted_and_tls_only(stack: Stack, which: str):
    s3 = stack.client("s3")
    bucket = stack.outputs[f"{which}_bucket_name"]
    assert bucket == f"imgflow-{'uploads' if which == 'upload' else 'processed'}-{ACCOUNT_ID}-{REGION}"

    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }

    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    (sse,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    default = sse["ApplyServerSideEncryptionByDefault"]
    if kms_key_arn(stack):
        assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_arn(stack)}
        assert sse["BucketKeyEnabled"] is True
    else:
        assert default["SSEAlgorithm"] == "AES256"
        assert "KMSMasterKeyID" not in default

    # moto cannot evaluate aws:SecureTransport or s3:TlsVersion: its endpoint
    # is plain HTTP, and it applies a conditional deny as if it had no
    # condition (every object call gets 403; see conftest.py). So the test
    # checks the statements themselves, on the bucket and on its objects.
    policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    arn = f"arn:aws:s3:::{bucket}"
    assert deny_insecure_transport(policy, {arn, f"{arn}/*"}), policy
    tls = [s for s in statements(policy) if "s3:TlsVersion" in s.get("Condition", {}).get("NumericLessThan", {})]
    assert tls and tls[0]["Effect"] == "Deny" and tls[0]["Condition"]["NumericLessThan"]["s3:TlsVersion"] == "1.2"
    assert not [s for s in statements(policy) if s["Effect"] == "Allow"], "no bucket-policy grants"

    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert all(r["Status"] == "Enabled" for r in lifecycle)
    assert {"NoncurrentDays": 30} in [r.get("NoncurrentVersionExpiration") for r in lifecycle]
    assert {"DaysAfterInitiation": 7} in [r.get("AbortIncompleteMultipartUpload") for r in lifecycle]


def test_only_the_upload_bucket_triggers_the_function(stack: Stack):
    s3 = stack.client("s3")
    fn_arn = stack.outputs["function_arn"]
    config = s3.get_bucket_notification_configuration(Bucket=stack.outputs["upload_bucket_name"])
    (lambda_config,) = config["LambdaFunctionConfigurations"]
    assert lambda_config["LambdaFunctionArn"] == fn_arn
    assert sorted(lambda_config["Events"]) == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    prefix = stack.variables.get("upload_prefix", "")
    rules = lambda_config.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    if prefix:
        assert {"Name": "Prefix", "Value": prefix} in [
            {"Name": r["Name"].capitalize(), "Value": r["Value"]} for r in rules
        ]
    else:
        assert not rules
    processed = s3.get_bucket_notification_configuration(Bucket=stack.outputs["processed_bucket_name"])
    assert not processed.get("LambdaFunctionConfigurations"), "the processed bucket must not trigger"

    policy = stack.client("lambda").get_policy(FunctionName=FUNCTION)["Policy"]
    (grant,) = statements(policy)
    assert grant["Effect"] == "Allow"
    assert grant["Principal"] == {"Service": "s3.amazonaws.com"}
    assert grant["Action"] == "lambda:InvokeFunction"
    assert grant["Condition"]["ArnLike"]["AWS:SourceArn"] == f"arn:aws:s3:::{stack.outputs['upload_bucket_name']}"
    assert grant["Condition"]["StringEquals"]["AWS:SourceAccount"] == ACCOUNT_ID


# --- function ----------------------------------------------------------------------------


def test_function_settings(stack: Stack):
    lam = stack.client("lambda")
    cfg = lam.get_function_configuration(FunctionName=FUNCTION)
    assert stack.outputs["function_name"] == FUNCTION
    assert cfg["Runtime"] == "provided.al2023"
    assert cfg["Handler"] == "bootstrap"
    assert cfg["Architectures"] == [stack.variables.get("architecture", "arm64")]
    assert cfg["MemorySize"] == 2048
    assert cfg["Timeout"] == stack.variables.get("timeout", 300)
    assert cfg["TracingConfig"] == {"Mode": "Active"}
    assert cfg["Role"] == stack.outputs["role_arn"]

    env = cfg["Environment"]["Variables"]
    expected = {
        "PROCESSED_BUCKET": stack.outputs["processed_bucket_name"],
        "VARIANTS": "all",
        "JPEG_QUALITY": "85",
        "LOW_QUALITY": "60",
        "WEBP_QUALITY": "85",
        "THUMBNAIL_SIZE": "200x200",
        "MAX_INPUT_PIXELS": "100000000",
        "MAX_INPUT_BYTES": "104857600",
        "RECORD_CONCURRENCY": "2",
        "DEADLINE_MARGIN_MS": "1500",
        "CACHE_CONTROL": "public, max-age=31536000, immutable",
        "METRICS_NAMESPACE": "ImageProcessor",
        "POWERTOOLS_METRICS_NAMESPACE": "ImageProcessor",
        "POWERTOOLS_SERVICE_NAME": "imgflow",
    }
    if kms_key_arn(stack):
        expected["KMS_KEY_ARN"] = kms_key_arn(stack)
    assert env == expected
    assert "LOG_LEVEL" not in env, "the level comes from logging_config (AWS_LAMBDA_LOG_LEVEL)"

    # Unreserved unless the scenario sets it (kms.tfvars: 10): a reservation
    # fails on accounts that cannot keep 100 executions unreserved.
    reserved = stack.variables.get("reserved_concurrency")
    assert lam.get_function_concurrency(FunctionName=FUNCTION).get("ReservedConcurrentExecutions") == reserved
    if stack.scenario == "default":
        assert reserved is None
        assert stack.planned("aws_lambda_function.this")["reserved_concurrent_executions"] == -1

    invoke = lam.get_function_event_invoke_config(FunctionName=FUNCTION)
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["MaximumEventAgeInSeconds"] == 3600
    queue_arn = stack.outputs["failed_events_queue_arn"]
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn

    # moto accepts CreateFunction's LoggingConfig and KMSKeyArn but neither
    # stores nor returns them: checked on the plan of the full configuration.
    planned = stack.planned("aws_lambda_function.this")
    assert planned["logging_config"] == [
        {
            "log_format": "JSON",
            "log_group": LOG_GROUP,
            "application_log_level": "INFO",
            "system_log_level": "INFO",
        }
    ]
    if kms_key_arn(stack):
        # Unknown until the key exists: the plan shows it is the stack's key.
        change = stack.change("aws_lambda_function.this")
        assert change["after_unknown"].get("kms_key_arn") is True
        assert "local.kms_key_arn" in stack.references("aws_lambda_function.this", "kms_key_arn")
    else:
        assert planned.get("kms_key_arn") is None
    assert planned["tracing_config"] == [{"mode": "Active"}]


def test_recursive_loop_detection_terminates(stack: Stack):
    # moto has no PutFunctionRecursionConfig: the resource is only in the plan
    # of the full configuration (the applied copy leaves it out, see harness.py).
    planned = stack.planned("aws_lambda_function_recursion_config.this")
    assert planned == {"function_name": FUNCTION, "recursive_loop": "Terminate"}


def test_failed_events_queue_is_encrypted_and_keeps_14_days(stack: Stack):
    sqs = stack.client("sqs")
    url = stack.outputs["failed_events_queue_url"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["QueueArn"] == stack.outputs["failed_events_queue_arn"]
    assert attrs["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    if kms_key_arn(stack):
        assert attrs["KmsMasterKeyId"] == kms_key_arn(stack)
    else:
        assert attrs["SqsManagedSseEnabled"] == "true"
    assert deny_insecure_transport(attrs["Policy"], {attrs["QueueArn"]})


def test_log_group_has_retention(stack: Stack):
    (group,) = stack.client("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    assert group["logGroupName"] == LOG_GROUP == stack.outputs["log_group_name"]
    assert group["retentionInDays"] == 30
    if kms_key_arn(stack):
        assert group["kmsKeyId"] == kms_key_arn(stack)
    else:
        assert "kmsKeyId" not in group


# --- IAM ----------------------------------------------------------------------------------


def test_role_has_least_privilege(stack: Stack):
    iam = stack.client("iam")
    role = ROLE
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == [], "no managed policies"
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    sts = statements(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    by_sid = {s["Sid"]: s for s in sts}

    uploads = f"arn:aws:s3:::{stack.outputs['upload_bucket_name']}"
    processed = f"arn:aws:s3:::{stack.outputs['processed_bucket_name']}"
    log_group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{LOG_GROUP}:*"
    expected = {
        "ReadUploads": ({"s3:GetObject", "s3:GetObjectVersion"}, [f"{uploads}/*"]),
        "TellMissingUploadsApart": ({"s3:ListBucket"}, [uploads]),
        "WriteVariants": ({"s3:PutObject", "s3:DeleteObject"}, [f"{processed}/*"]),
        "ReadManifests": ({"s3:GetObject"}, [f"{processed}/*"]),
        "ListVariants": ({"s3:ListBucket"}, [processed]),
        "SendFailedEvents": ({"sqs:SendMessage"}, [stack.outputs["failed_events_queue_arn"]]),
        "WriteOwnLogs": ({"logs:CreateLogStream", "logs:PutLogEvents"}, [log_group_arn]),
        "SendTraces": ({"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, ["*"]),
    }
    if kms_key_arn(stack):
        expected["UseDataKey"] = ({"kms:Decrypt", "kms:GenerateDataKey"}, [kms_key_arn(stack)])
    if stack.variables.get("enable_vpc"):
        expected["ManageOwnNetworkInterfaces"] = (
            {
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            },
            [
                f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:{kind}/*"
                for kind in ("network-interface", "subnet", "security-group")
            ],
        )
        expected["DescribeNetwork"] = ({"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"}, ["*"])
    assert set(by_sid) == set(expected)
    for sid, (actions, resources) in expected.items():
        s = by_sid[sid]
        assert s["Effect"] == "Allow", sid
        assert set(as_list(s["Action"])) == actions, sid
        assert sorted(as_list(s["Resource"])) == sorted(resources), sid
        assert "Condition" not in s and "NotAction" not in s and "NotResource" not in s, sid

    for s in sts:
        actions = as_list(s["Action"])
        assert not any(a.endswith("*") for a in actions), f"no wildcard actions: {s}"
        if any(a.split(":")[0] in ("s3", "kms", "sqs") for a in actions):
            assert as_list(s["Resource"]) != ["*"] and "*" not in as_list(s["Resource"]), s
            assert len(as_list(s["Resource"])) == 1, f"one resource per statement: {s}"

    trust = statements(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


# --- keys ------------------------------------------------------------------------------------


def test_keys_rotate_and_let_cloudwatch_publish_to_the_alarm_topic(stack: Stack):
    kms = stack.client("kms")
    topic = stack.client("sns").get_topic_attributes(TopicArn=stack.outputs["alarm_topic_arn"])["Attributes"]
    topic_key = topic["KmsMasterKeyId"]
    assert topic_key.startswith(f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/"), "a customer-managed key, not alias/aws/sns"
    if kms_key_arn(stack):
        assert topic_key == kms_key_arn(stack), "one key for everything with enable_kms"
    keys = {topic_key} | ({kms_key_arn(stack)} if kms_key_arn(stack) else set())
    for key in keys:
        meta = kms.describe_key(KeyId=key)["KeyMetadata"]
        assert meta["KeyManager"] == "CUSTOMER" and meta["KeyState"] == "Enabled"
        assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
        policy = statements(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
        principals = [s.get("Principal") for s in policy]
        assert {"Service": "cloudwatch.amazonaws.com"} in principals
        assert {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"} in principals
        if key == kms_key_arn(stack):
            logs = [s for s in policy if s.get("Principal") == {"Service": f"logs.{REGION}.amazonaws.com"}]
            assert logs and logs[0]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == (
                f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{LOG_GROUP}"
            )
    # Exactly the keys the stack means to create.
    created = [r for r in stack.plan["resource_changes"] if r["type"] == "aws_kms_key"]
    assert len(created) == 1


# --- alarms and dashboard -----------------------------------------------------------------


TEMPLATE_VARS = {
    "region": REGION,
    "function_name": FUNCTION,
    "metrics_namespace": "ImageProcessor",
    "service_name": "imgflow",
    "timeout_ms": 300_000,
    "failed_events_queue_name": "imgflow-failed-events",
    "log_group_name": LOG_GROUP,
}


def concurrency_vars(reserved: int | None) -> dict:
    """The template values that follow reserved_concurrency (monitoring.tf)."""
    return {
        "reserved_concurrency": reserved or 0,
        "concurrency_annotations": {}
        if reserved is None
        else {"horizontal": [{"label": "reserved", "value": reserved, "color": "#d62728"}]},
    }


def render(text: str, extra: dict | None = None) -> str:
    """The subset of Terraform's template syntax the templates use: ${expr}
    with the template variables, floor(), ceil() and jsonencode()."""
    scope = {
        **TEMPLATE_VARS,
        **concurrency_vars(None),
        **(extra or {}),
        "floor": math.floor,
        "ceil": math.ceil,
        "jsonencode": json.dumps,
    }
    assert "%{" not in text, "no template directives"
    return re.sub(r"\$\{([^}]*)\}", lambda m: str(eval(m.group(1), {"__builtins__": {}}, scope)), text)


def test_every_alarm_file_is_an_alarm_that_pages_the_topic(stack: Stack):
    cw = stack.client("cloudwatch")
    alarms = {
        a["AlarmName"]: a
        for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{FUNCTION}-")
        for a in page["MetricAlarms"]
    }
    assert len(ALARM_FILES) >= 7
    reserved = stack.variables.get("reserved_concurrency")
    extra = concurrency_vars(reserved)
    # An alarm with "only_with" exists only when that setting is on.
    settings_on = {"reserved_concurrency": reserved is not None}
    specs = {f: json.loads(render(f.read_text(), extra)) for f in ALARM_FILES}
    wanted = [f for f, spec in specs.items() if settings_on.get(spec.get("only_with"), True)]
    assert set(alarms) == {f"{FUNCTION}-{f.stem}" for f in wanted}
    assert stack.outputs["alarm_names"] == {f.stem: f"{FUNCTION}-{f.stem}" for f in wanted}
    assert (f"{FUNCTION}-concurrency-near-limit" in alarms) == (reserved is not None)
    topic = stack.outputs["alarm_topic_arn"]
    for f in wanted:
        spec = specs[f]
        a = alarms[f"{FUNCTION}-{f.stem}"]
        assert a["AlarmActions"] == [topic] and a["OKActions"] == [topic], f.name
        assert a["ActionsEnabled"] is True
        assert a["AlarmDescription"].endswith(f"Runbook: runbooks/{f.stem}.md"), a["AlarmDescription"]
        assert spec["runbook"] == f"runbooks/{f.stem}.md"
        assert a["ComparisonOperator"] == spec["comparison"]
        assert a["Threshold"] == float(spec["threshold"]), f.name
        assert a["EvaluationPeriods"] == spec["evaluation_periods"]
        assert a.get("DatapointsToAlarm") == spec.get("datapoints_to_alarm")
        assert a["TreatMissingData"] == spec["treat_missing_data"]
        if "metric" in spec:
            m = spec["metric"]
            assert (a["Namespace"], a["MetricName"], a["Period"]) == (m["namespace"], m["metric_name"], m["period"])
            assert {d["Name"]: d["Value"] for d in a["Dimensions"]} == m["dimensions"]
            assert a.get("Statistic") == m.get("statistic")
            assert a.get("ExtendedStatistic") == m.get("extended_statistic")
        else:
            got = {q["Id"]: q for q in a["Metrics"]}
            assert set(got) == {q["id"] for q in spec["metrics"]}
            for q in spec["metrics"]:
                g = got[q["id"]]
                assert g.get("ReturnData", False) == q.get("return_data", False), q["id"]
                if "expression" in q:
                    assert g["Expression"] == q["expression"]
                else:
                    stat = g["MetricStat"]
                    assert stat["Metric"]["Namespace"] == q["namespace"]
                    assert stat["Metric"]["MetricName"] == q["metric_name"]
                    assert {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]} == q["dimensions"]
                    assert (stat["Period"], stat["Stat"]) == (q["period"], q["stat"])
    # Thresholds that follow other settings.
    assert alarms[f"{FUNCTION}-duration-near-timeout"]["Threshold"] == 240_000.0
    if reserved is not None:
        assert alarms[f"{FUNCTION}-concurrency-near-limit"]["Threshold"] == math.ceil(reserved * 0.8)
    # SQS stops publishing the metrics of a queue nobody touched for hours,
    # while its messages wait 14 days: a missing point must keep the alarm
    # in ALARM, not clear it (notBreaching would).
    assert alarms[f"{FUNCTION}-failed-events"]["TreatMissingData"] == "ignore"


def test_alarm_topic_subscription(stack: Stack):
    subs = stack.client("sns").list_subscriptions_by_topic(TopicArn=stack.outputs["alarm_topic_arn"])["Subscriptions"]
    email = stack.variables.get("alarm_email")
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == ([("email", email)] if email else [])
    policy = stack.client("sns").get_topic_attributes(TopicArn=stack.outputs["alarm_topic_arn"])["Attributes"]["Policy"]
    publish = [s for s in statements(policy) if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert publish and publish[0]["Action"] == "sns:Publish"
    assert deny_insecure_transport(policy, {stack.outputs["alarm_topic_arn"]})


def test_dashboard(stack: Stack):
    cw = stack.client("cloudwatch")
    assert stack.outputs["dashboard_name"] == DASHBOARD
    assert stack.outputs["dashboard_url"] == (
        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#dashboards/dashboard/{DASHBOARD}"
    )
    body = json.loads(cw.get_dashboard(DashboardName=DASHBOARD)["DashboardBody"])
    widgets = body["widgets"]
    titles = [w["properties"].get("title", "") for w in widgets]
    for wanted in [
        "Invocations, errors, throttles",
        "Duration p50 / p90 / p99 against the timeout",
        CONCURRENCY_TITLE,
        "Images processed / rejected / failed",
        BYTES_SAVED_TITLE,
        "OutputBytes by variant (average)",
        "EncodeTime p50 / p99 by variant (ms)",
        "Cold starts",
        "Failed-events queue",
        "Latest errors (rejected and failed images)",
        "Alarms",
    ]:
        assert wanted in titles, wanted
    for w in widgets:
        assert 0 <= w["x"] and w["x"] + w["width"] <= 24, w

    by_title = {w["properties"].get("title"): w for w in widgets}
    duration = by_title["Duration p50 / p90 / p99 against the timeout"]["properties"]
    assert {m[-1]["stat"] for m in duration["metrics"]} == {"p50", "p90", "p99"}
    assert duration["annotations"]["horizontal"][0]["value"] == stack.variables.get("timeout", 300) * 1000
    concurrency = by_title[CONCURRENCY_TITLE]["properties"]
    reserved = stack.variables.get("reserved_concurrency")
    if reserved is None:
        assert concurrency["annotations"] == {}, "no reservation line when unreserved"
    else:
        assert concurrency["annotations"]["horizontal"][0]["value"] == reserved
    assert ["AWS/Lambda", "UnreservedConcurrentExecutions"] in [row[:2] for row in concurrency["metrics"]]

    # Every EMF metric with exactly the dimension set the code emits
    # (src/telemetry/metrics.rs): otherwise CloudWatch shows nothing.
    dims_by_metric = {}
    for w in widgets:
        for row in w["properties"].get("metrics", []):
            if row[0] == "ImageProcessor":
                names = tuple(row[2:-1:2])
                dims_by_metric.setdefault(row[1], set()).add(names)
                assert row[3] == "imgflow", row
    assert dims_by_metric["ColdStart"] == {("service", "function_name")}
    for metric in ("BytesSaved", "EncodeTime", "OutputBytes"):
        assert dims_by_metric[metric] == {("service", "Variant")}, metric
    for metric in ("ImagesProcessed", "ImagesRejected", "ImagesFailed", "ProcessingTime", "DecodeTime", "SourceBytes"):
        assert dims_by_metric[metric] == {("service",)}, metric
    assert "below 0" in BYTES_SAVED_TITLE, "the dashboard says BytesSaved can be negative"
    for title in (BYTES_SAVED_TITLE, "OutputBytes by variant (average)"):
        assert [row[5] for row in by_title[title]["properties"]["metrics"]] == VARIANTS

    log = by_title["Latest errors (rejected and failed images)"]["properties"]
    assert log["query"].startswith(f"SOURCE '{LOG_GROUP}'")
    assert 'filter level = "ERROR"' in log["query"]
    alarm_arns = {
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{name}" for name in stack.outputs["alarm_names"].values()
    }
    assert set(by_title["Alarms"]["properties"]["alarms"]) == alarm_arns

    # The repository's template, rendered the same way, is what was applied.
    template = (REPO / "dashboards" / "imgflow.json.tftpl").read_text()
    rendered = json.loads(render(template, {"alarm_arns": sorted(alarm_arns), **concurrency_vars(reserved)}))
    assert len(rendered["widgets"]) == len(widgets)


# --- the network (enable_vpc) --------------------------------------------------------------


def test_vpc_zones_need_no_opt_in(stack: Stack):
    # Lambda does not run in Local or Wavelength Zones, which need an opt-in.
    # moto ignores the filter (it has no such zones), so the configuration is checked.
    (zones,) = [
        r for r in stack.plan["configuration"]["root_module"]["resources"]
        if r["address"] == "data.aws_availability_zones.available"
    ]
    filters = zones["expressions"]["filter"]
    assert [(f["name"]["constant_value"], f["values"]["constant_value"]) for f in filters] == [
        ("opt-in-status", ["opt-in-not-required"])
    ]
    assert zones["expressions"]["state"]["constant_value"] == "available"


def test_vpc(stack: Stack):
    cfg = stack.client("lambda").get_function_configuration(FunctionName=FUNCTION)
    if not stack.variables.get("enable_vpc"):
        assert not (cfg.get("VpcConfig") or {}).get("SubnetIds")
        assert stack.outputs.get("vpc_id") is None
        return
    ec2 = stack.client("ec2")
    vpc_id = stack.outputs["vpc_id"]
    (vpc,) = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["CidrBlock"] == "10.42.0.0/16"

    vpc_config = cfg["VpcConfig"]
    assert sorted(vpc_config["SubnetIds"]) == sorted(stack.outputs["subnet_ids"])
    assert vpc_config["SecurityGroupIds"] == stack.outputs["security_group_ids"]
    subnets = ec2.describe_subnets(SubnetIds=vpc_config["SubnetIds"])["Subnets"]
    assert len(subnets) == 2 and len({s["AvailabilityZone"] for s in subnets}) == 2, "two AZs"
    assert all(s["VpcId"] == vpc_id and not s["MapPublicIpOnLaunch"] for s in subnets)

    # Private: no internet or NAT gateway, no default route.
    assert not ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]
    assert not ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    for t in tables:
        assert not [r for r in t["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"], t

    (sg,) = ec2.describe_security_groups(GroupIds=vpc_config["SecurityGroupIds"])["SecurityGroups"]
    assert sg["IpPermissions"] == [], "no inbound"
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"]) for p in sg["IpPermissionsEgress"]] == [("tcp", 443, 443)]
    default_sg = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]
    assert default_sg["IpPermissions"] == [] and default_sg["IpPermissionsEgress"] == []

    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    by_service = {e["ServiceName"]: e for e in endpoints}
    s3_endpoint = by_service[f"com.amazonaws.{REGION}.s3"]
    assert s3_endpoint["VpcEndpointType"] == "Gateway"
    private_tables = {a["RouteTableId"] for t in tables for a in t.get("Associations", []) if a.get("SubnetId")}
    assert set(s3_endpoint["RouteTableIds"]) == private_tables
    endpoint_policy = statements(s3_endpoint["PolicyDocument"])
    assert [s["Principal"] for s in endpoint_policy] == [{"AWS": stack.outputs["role_arn"]}], "only the function"
    endpoint_resources = {r for s in endpoint_policy for r in as_list(s["Resource"])}
    buckets = [stack.outputs["upload_bucket_name"], stack.outputs["processed_bucket_name"]]
    assert endpoint_resources == {f"arn:aws:s3:::{b}{suffix}" for b in buckets for suffix in ("", "/*")}
    xray = by_service[f"com.amazonaws.{REGION}.xray"]
    assert xray["VpcEndpointType"] == "Interface" and xray["PrivateDnsEnabled"] is True
    assert sorted(xray["SubnetIds"]) == sorted(vpc_config["SubnetIds"])


# --- after the checks: no drift, and a clean destroy --------------------------------------------


def test_second_plan_shows_no_changes(stack: Stack, teardown):
    plan = teardown[stack.scenario]["plan"]
    assert plan.returncode == 0, f"exit {plan.returncode} (2 = changes):\n{plan.stdout[-4000:]}\n{plan.stderr[-2000:]}"


def test_destroy_removes_everything(stack: Stack, teardown):
    proc = teardown[stack.scenario]["destroy"]
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}"
    assert stack.client("s3").list_buckets()["Buckets"] == []
    assert stack.client("lambda").list_functions()["Functions"] == []
    assert stack.client("sqs").list_queues().get("QueueUrls", []) == []
    assert stack.client("sns").list_topics()["Topics"] == []
    assert stack.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert stack.client("cloudwatch").list_dashboards()["DashboardEntries"] == []
    assert stack.client("logs").describe_log_groups()["logGroups"] == []
    assert stack.client("iam").list_roles()["Roles"] == []
    for key in stack.client("kms").list_keys()["Keys"]:
        state = stack.client("kms").describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"]
        assert state == "PendingDeletion"
