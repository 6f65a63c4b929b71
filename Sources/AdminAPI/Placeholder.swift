// Placeholder until the AdminAPI target lands.
