/// The version of this build of assure, printed by `assure-worker --version`.
public enum AssureVersion {
    public static let current = "0.1.0"
}
