"""Deployment: the local Kafka launcher (kafka/), the container image (Dockerfile), the Helm
chart (helm/socialstream), the Grafana dashboard (grafana/), the compose settings (compose/), and
the tools that check them offline (tools.py)."""
