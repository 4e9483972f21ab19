"""Your own evaluations: graders that say what "correct" means, and reports that compare models."""
