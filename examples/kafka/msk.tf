resource "aws_msk_configuration" "claims" {
  kafka_versions = ["3.6.0"]
  name           = "claims-events"

  server_properties = <<PROPERTIES
auto.create.topics.enable = true
min.insync.replicas = 1
PROPERTIES
}
