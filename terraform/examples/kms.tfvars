# A customer-managed KMS key (created, with yearly rotation) for the buckets, the
# failed-events queue, the logs and the function's environment, and the alarms
# mailed to on-call. Tested: tests/terraform applies this file to moto.
#   terraform -chdir=terraform apply -var-file=examples/kms.tfvars
#   (or scripts/deploy.sh -var-file=examples/kms.tfvars to build the package first)

enable_kms  = true
alarm_email = "oncall@example.com" # your team's address: AWS mails it a confirmation first
