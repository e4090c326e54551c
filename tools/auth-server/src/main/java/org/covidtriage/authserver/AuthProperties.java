package org.covidtriage.authserver;

import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * What scripts/stack/services/auth.sh writes into $CACHE_DIR/auth/auth.properties on each fresh
 * launch: the issuer, the audience every access token carries, the key files and the clients.
 *
 * @param issuer the issuer URL, e.g. https://127.0.0.1:18443 (also the tokens' {@code iss})
 * @param audience the {@code aud} of an access token unless its client names its own: the secured
 *     FHIR base URL
 * @param signingKeyFile PKCS#8 PEM RSA key that signs access tokens (RS256)
 * @param adminSecretFile the admin API's bearer secret
 * @param assertionMaxSeconds a client assertion's exp may lie at most this far ahead (SMART: 300)
 * @param clients the clients registered at start
 */
@ConfigurationProperties("auth")
public record AuthProperties(
    String issuer,
    String audience,
    String signingKeyFile,
    String adminSecretFile,
    Integer assertionMaxSeconds,
    List<Client> clients) {

  /**
   * One registered client.
   *
   * @param id the client_id
   * @param methods client_secret_basic, client_secret_post and/or private_key_jwt
   * @param secretFile the client secret (secret methods)
   * @param publicKeyFile PEM SubjectPublicKeyInfo of the client's key pair (private_key_jwt)
   * @param kid the key id auth.sh wrote for it: its RFC 7638 thumbprint (checked at start)
   * @param alg RS384 or ES384 (private_key_jwt)
   * @param scopes space-separated scopes the client may ask for
   * @param tokenSeconds access token lifetime
   * @param audience the {@code aud} of this client's tokens instead of the server's (the Kafka
   *     clients: the broker's expected audience); null or blank: the server's
   */
  public record Client(
      String id,
      List<String> methods,
      String secretFile,
      String publicKeyFile,
      String kid,
      String alg,
      String scopes,
      Integer tokenSeconds,
      String audience) {}

  public int assertionMaxSecondsOrDefault() {
    return assertionMaxSeconds == null ? 300 : assertionMaxSeconds;
  }
}
