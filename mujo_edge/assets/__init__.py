"""Package data: the shipped default model bundle (default.mujo); see README.md here for how it was made."""
