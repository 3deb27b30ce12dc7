"""The vector families, one module each; ``parley.conformance.generate`` writes them."""
