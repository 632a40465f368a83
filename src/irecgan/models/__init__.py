"""The user model U, agent A and discriminator D (SPEC 3), built into one tf.Graph."""
