package org.covidtriage.authserver;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.settings.ClientSettings;
import org.springframework.security.oauth2.server.authorization.settings.OAuth2TokenFormat;
import org.springframework.security.oauth2.server.authorization.settings.TokenSettings;

/**
 * The clients registered at start (from {@link AuthProperties}), and what the admin API may change
 * about them at run time, in memory only: a disabled client is unknown to the token endpoint (401
 * invalid_client), a rotated secret replaces the old one at once, a changed lifetime applies to
 * the next token. {@link #reset()} returns every client to its state at start. Counters: access
 * tokens issued per client.
 */
final class StackClients implements RegisteredClientRepository {

  /** One client's state; RegisteredClient is immutable, so a change swaps in a rebuilt one. */
  static final class Entry {
    final AuthProperties.Client config;
    final JWK publicJwk; // private_key_jwt clients only
    volatile RegisteredClient client;
    volatile boolean enabled = true;
    final AtomicLong tokensIssued = new AtomicLong();

    Entry(AuthProperties.Client config, JWK publicJwk, RegisteredClient client) {
      this.config = config;
      this.publicJwk = publicJwk;
      this.client = client;
    }
  }

  private final Map<String, Entry> byClientId = new LinkedHashMap<>();
  private final Map<String, Entry> byId = new ConcurrentHashMap<>();
  final AtomicLong tokenRequests = new AtomicLong();

  StackClients(List<AuthProperties.Client> clients) {
    for (AuthProperties.Client c : clients) {
      JWK jwk = c.publicKeyFile() == null || c.publicKeyFile().isBlank() ? null : publicJwk(c);
      Entry e = new Entry(c, jwk, build(c, secretOf(c), lifetimeOf(c)));
      byClientId.put(c.id(), e);
      byId.put(e.client.getId(), e);
    }
  }

  private static String secretOf(AuthProperties.Client c) {
    return c.secretFile() == null || c.secretFile().isBlank() ? null : Pem.read(c.secretFile());
  }

  private static Duration lifetimeOf(AuthProperties.Client c) {
    return Duration.ofSeconds(c.tokenSeconds() == null ? 300 : c.tokenSeconds());
  }

  private static JWK publicJwk(AuthProperties.Client c) {
    try {
      return publicJwkOf(c);
    } catch (JOSEException e) {
      throw new IllegalArgumentException(c.id() + ": cannot compute the key's thumbprint", e);
    }
  }

  private static JWK publicJwkOf(AuthProperties.Client c) throws JOSEException {
    JWSAlgorithm alg = JWSAlgorithm.parse(c.alg());
    if (JWSAlgorithm.Family.RSA.contains(alg)) {
      RSAPublicKey key = (RSAPublicKey) Pem.publicKey(c.publicKeyFile(), "RSA");
      if (key.getModulus().bitLength() < 2048) throw new IllegalArgumentException(c.id() + ": RSA key under 2048 bits");
      return withKid(new RSAKey.Builder(key).keyIDFromThumbprint().algorithm(alg).build(), c);
    }
    if (JWSAlgorithm.Family.EC.contains(alg)) {
      ECPublicKey key = (ECPublicKey) Pem.publicKey(c.publicKeyFile(), "EC");
      return withKid(
          new ECKey.Builder(Curve.forJWSAlgorithm(alg).iterator().next(), key).keyIDFromThumbprint().algorithm(alg).build(), c);
    }
    throw new IllegalArgumentException(c.id() + ": unsupported client assertion algorithm " + c.alg());
  }

  /** The key id is the RFC 7638 thumbprint; auth.sh computed the same for the tests (auth.clients[].kid). */
  private static JWK withKid(JWK jwk, AuthProperties.Client c) {
    if (c.kid() != null && !c.kid().isBlank() && !c.kid().equals(jwk.getKeyID())) {
      throw new IllegalArgumentException(c.id() + ": kid " + c.kid() + " is not the key's thumbprint " + jwk.getKeyID());
    }
    return jwk;
  }

  /** Same registration id across rebuilds, so SAS's per-client caches stay consistent. */
  private static RegisteredClient build(AuthProperties.Client c, String secret, Duration lifetime) {
    RegisteredClient.Builder b = RegisteredClient.withId("id-" + c.id())
        .clientId(c.id())
        .authorizationGrantType(AuthorizationGrantType.CLIENT_CREDENTIALS)
        .tokenSettings(TokenSettings.builder()
            .accessTokenFormat(OAuth2TokenFormat.SELF_CONTAINED)
            .accessTokenTimeToLive(lifetime)
            .build());
    for (String m : c.methods()) b.clientAuthenticationMethod(new ClientAuthenticationMethod(m.strip()));
    for (String s : c.scopes().trim().split("\\s+")) b.scope(s);
    if (secret != null) b.clientSecret("{noop}" + secret); // a local test server: secrets live in files beside it
    if (c.alg() != null && !c.alg().isBlank()) {
      b.clientSettings(ClientSettings.builder()
          .tokenEndpointAuthenticationSigningAlgorithm(SignatureAlgorithm.from(c.alg()))
          .build());
    }
    return b.build();
  }

  /**
   * SAS saves a client back only to re-encode its secret (the {noop} secret becomes a bcrypt hash
   * after its first use); new clients are registered at start only.
   */
  @Override
  public void save(RegisteredClient registeredClient) {
    Entry e = byId.get(registeredClient.getId());
    if (e == null || !e.config.id().equals(registeredClient.getClientId())) {
      throw new UnsupportedOperationException("clients are registered at start only");
    }
    e.client = registeredClient;
  }

  @Override
  public RegisteredClient findById(String id) {
    Entry e = byId.get(id);
    return e == null ? null : e.client;
  }

  /** A disabled client is not found: the token endpoint answers 401 invalid_client. */
  @Override
  public RegisteredClient findByClientId(String clientId) {
    Entry e = byClientId.get(clientId);
    return e == null || !e.enabled ? null : e.client;
  }

  Entry entry(String clientId) {
    return byClientId.get(clientId);
  }

  List<Entry> entries() {
    return new ArrayList<>(byClientId.values());
  }

  void setEnabled(Entry e, boolean enabled) {
    e.enabled = enabled;
  }

  void rotateSecret(Entry e, String secret) {
    RegisteredClient c = e.client;
    e.client = RegisteredClient.from(c).clientSecret("{noop}" + secret).build();
  }

  void setLifetime(Entry e, Duration lifetime) {
    RegisteredClient c = e.client;
    e.client = RegisteredClient.from(c)
        .tokenSettings(TokenSettings.withSettings(c.getTokenSettings().getSettings())
            .accessTokenTimeToLive(lifetime)
            .build())
        .build();
  }

  /** Every client back to its state at start (enabled, secret from its file, lifetime); counters stay. */
  void reset() {
    for (Entry e : byClientId.values()) {
      e.client = build(e.config, secretOf(e.config), lifetimeOf(e.config));
      e.enabled = true;
    }
  }

  /** What the admin API shows of a client (never its secret). */
  static Map<String, Object> describe(Entry e) {
    RegisteredClient c = e.client;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("clientId", c.getClientId());
    m.put("enabled", e.enabled);
    List<String> methods = new ArrayList<>();
    c.getClientAuthenticationMethods().forEach(x -> methods.add(x.getValue()));
    methods.sort(null);
    m.put("authenticationMethods", methods);
    if (e.publicJwk != null) {
      m.put("assertionAlgorithm", e.config.alg());
      m.put("jwks", Map.of("keys", List.of(e.publicJwk.toJSONObject())));
    }
    Set<String> scopes = new TreeSet<>(c.getScopes());
    m.put("scopes", String.join(" ", scopes));
    m.put("tokenLifetimeSeconds", c.getTokenSettings().getAccessTokenTimeToLive().toSeconds());
    m.put("tokensIssued", e.tokensIssued.get());
    return m;
  }
}
