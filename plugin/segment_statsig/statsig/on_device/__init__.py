"""On-device evaluation: Statsig's config specs evaluated on the device for any user
(reply.py builds the initialize reply, evaluator.py runs the rules, conditions.py the operators)."""
