"""`s3-wistia-bridge doctor`: a deployed stack checked end to end. checks.py decides (pure),
gather.py asks AWS and Wistia (thin adapters), run.py orders the checks and prints them."""
