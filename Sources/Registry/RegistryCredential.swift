/// A secret for one registry: a user name and password (or access token used as a
/// password), or an OAuth2 identity (refresh) token. Its description never shows the secret.
public enum RegistryCredential: Hashable, Sendable, CustomStringConvertible {
    /// HTTP basic credentials, also sent to a bearer token realm.
    case basic(username: String, password: String)
    /// An identity token, exchanged at the token realm with the OAuth2 refresh-token grant
    /// (what `docker login` stores as `identitytoken`).
    case identityToken(String)

    /// The kind of credential and the user name, without the secret.
    public var description: String {
        switch self {
        case .basic(let username, _): return "basic credentials for \(username)"
        case .identityToken: return "identity token"
        }
    }
}
