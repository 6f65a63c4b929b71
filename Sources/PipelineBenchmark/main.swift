print("pipeline benchmark: not yet")
