// Placeholder until the Persistence target lands.
