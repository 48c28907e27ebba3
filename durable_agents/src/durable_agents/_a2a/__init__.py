"""A2A: every agent as an A2A 1.0 server (the 0.3 method names too), and remote A2A agents as durable steps."""
