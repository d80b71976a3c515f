"""Model architectures used by the task recipes."""
