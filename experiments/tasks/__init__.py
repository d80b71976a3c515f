"""Tasks: data, model, loss, evaluation, budget and headline metric (never the optimizer)."""
