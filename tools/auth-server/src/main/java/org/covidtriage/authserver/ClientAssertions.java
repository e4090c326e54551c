package org.covidtriage.authserver;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import jakarta.servlet.http.HttpServletRequest;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.security.core.Authentication;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2ErrorCodes;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtDecoderFactory;
import org.springframework.security.oauth2.jwt.JwtTimestampValidator;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.oauth2.server.authorization.authentication.OAuth2ClientAuthenticationToken;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;
import org.springframework.security.web.authentication.AuthenticationConverter;

/**
 * SMART Backend Services client authentication (private_key_jwt, RFC 7523) as SMART asks for it,
 * stricter than Spring Authorization Server's default: the assertion's signature is checked
 * against the public key registered with the client (its JWK set, from a file: no JWKS URL
 * fetched), with the client's one algorithm (RS384 or ES384); iss = sub = client_id; aud must
 * name the token endpoint URL itself; exp is required and at most {@code maxSeconds} ahead; a
 * jti is required and may be used once while the assertion is unexpired (a replay is refused).
 */
final class ClientAssertions implements JwtDecoderFactory<RegisteredClient> {

  static final String JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

  private final StackClients clients;
  private final String tokenEndpoint;
  private final Duration maxAhead;
  private final Duration skew = Duration.ofSeconds(30);
  private final Map<String, JwtDecoder> decoders = new ConcurrentHashMap<>();
  /** jti -> the time after which the assertion is dead anyway and its jti can be forgotten. */
  private final Map<String, Instant> seen = new ConcurrentHashMap<>();

  ClientAssertions(StackClients clients, String tokenEndpoint, int maxSeconds) {
    this.clients = clients;
    this.tokenEndpoint = tokenEndpoint;
    this.maxAhead = Duration.ofSeconds(maxSeconds);
  }

  @Override
  public JwtDecoder createDecoder(RegisteredClient client) {
    return decoders.computeIfAbsent(client.getClientId(), id -> build(client));
  }

  private JwtDecoder build(RegisteredClient client) {
    StackClients.Entry entry = clients.entry(client.getClientId());
    if (entry == null || entry.publicJwk == null) {
      throw new org.springframework.security.oauth2.core.OAuth2AuthenticationException(
          new OAuth2Error(OAuth2ErrorCodes.INVALID_CLIENT, "client has no registered public key", null));
    }
    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSTypeVerifier(new DefaultJOSEObjectTypeVerifier<>(JOSEObjectType.JWT, null));
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(
        JWSAlgorithm.parse(entry.config.alg()), new ImmutableJWKSet<>(new JWKSet(entry.publicJwk))));
    processor.setJWTClaimsSetVerifier((claims, context) -> {}); // the validators below decide
    NimbusJwtDecoder decoder = new NimbusJwtDecoder(processor);
    JwtTimestampValidator timestamps = new JwtTimestampValidator(skew);
    String clientId = client.getClientId();
    decoder.setJwtValidator(new DelegatingOAuth2TokenValidator<>(List.of(
        timestamps, jwt -> claims(jwt, clientId), this::replay)));
    return decoder;
  }

  private OAuth2TokenValidatorResult claims(Jwt jwt, String clientId) {
    if (!clientId.equals(jwt.getClaimAsString("iss")) || !clientId.equals(jwt.getSubject())) {
      return fail("iss and sub must both be the client_id");
    }
    List<String> aud = jwt.getAudience();
    if (aud == null || !aud.contains(tokenEndpoint)) return fail("aud must be the token endpoint " + tokenEndpoint);
    Instant exp = jwt.getExpiresAt();
    if (exp == null) return fail("exp is required");
    if (exp.isAfter(Instant.now().plus(maxAhead).plus(skew))) {
      return fail("exp lies more than " + maxAhead.toSeconds() + " s ahead");
    }
    if (jwt.getId() == null || jwt.getId().isBlank()) return fail("jti is required");
    return OAuth2TokenValidatorResult.success();
  }

  /** Runs last: only an assertion valid in every other way uses up its jti. */
  private OAuth2TokenValidatorResult replay(Jwt jwt) {
    Instant now = Clock.systemUTC().instant();
    seen.values().removeIf(until -> until.isBefore(now));
    String key = jwt.getSubject() + " " + jwt.getId();
    Instant until = jwt.getExpiresAt().plus(skew);
    if (seen.putIfAbsent(key, until) != null) return fail("jti was used before (replayed assertion)");
    return OAuth2TokenValidatorResult.success();
  }

  private static OAuth2TokenValidatorResult fail(String why) {
    return OAuth2TokenValidatorResult.failure(new OAuth2Error(OAuth2ErrorCodes.INVALID_CLIENT, why, null));
  }

  /**
   * SMART's token request carries no client_id (RFC 7523 makes it optional), but SAS's own
   * converter requires one. This converter, tried first, takes it from the assertion's sub when
   * client_id is absent; the signature check and iss = sub = client_id above then decide.
   */
  static final class ClientIdFromAssertion implements AuthenticationConverter {
    @Override
    public Authentication convert(HttpServletRequest request) {
      if (!"POST".equals(request.getMethod())) return null;
      String type = request.getParameter("client_assertion_type");
      String assertion = request.getParameter("client_assertion");
      if (!JWT_BEARER.equals(type) || assertion == null || request.getParameter("client_id") != null) return null;
      if (request.getParameterValues("client_assertion").length != 1) return null; // SAS's converter refuses it
      String subject;
      try {
        subject = SignedJWT.parse(assertion).getJWTClaimsSet().getSubject();
      } catch (ParseException e) {
        return null; // SAS's converter answers invalid_request
      }
      if (subject == null || subject.isBlank()) return null;
      return new OAuth2ClientAuthenticationToken(
          subject, new ClientAuthenticationMethod(JWT_BEARER), assertion, Collections.emptyMap());
    }
  }
}
