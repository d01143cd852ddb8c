"""modeshift: costed EC2 / Fargate / Fargate Spot advice for Amazon ECS workloads."""

__version__ = "0.1.0"
