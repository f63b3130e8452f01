# A customer-managed KMS key (created, with yearly rotation) for the buckets, the
# failed-events queue, the logs and the function's environment, the alarms
# mailed to on-call, and a reserved concurrency. Tested: tests/terraform
# applies this file to moto.
#   terraform -chdir=terraform apply -var-file=examples/kms.tfvars
#   (or scripts/deploy.sh -var-file=examples/kms.tfvars to build the package first)

enable_kms  = true
alarm_email = "oncall@example.com" # your team's address: AWS mails it a confirmation first
# A ceiling of 10 executions at once (and the concurrency-near-limit alarm):
# the account must keep 100 more unreserved, which a new account cannot.
reserved_concurrency = 10
