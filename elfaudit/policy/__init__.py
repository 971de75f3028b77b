"""Policy: the rule catalogue, profiles, waivers, and the one pass that weighs findings."""
