// Placeholder until the RepairCommands target lands.
