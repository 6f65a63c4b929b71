// Placeholder until the Consumers target lands.
