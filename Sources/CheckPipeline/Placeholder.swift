// Placeholder until the CheckPipeline target lands.
