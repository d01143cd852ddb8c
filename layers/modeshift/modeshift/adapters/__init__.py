"""One adapter per AWS service: AWS dicts become models, ClientError becomes modeshift errors."""
