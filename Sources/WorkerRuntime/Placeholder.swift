// Placeholder until the WorkerRuntime target lands.
