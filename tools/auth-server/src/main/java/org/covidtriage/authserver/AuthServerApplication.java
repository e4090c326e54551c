package org.covidtriage.authserver;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServletRequest;
import java.security.interfaces.RSAPrivateCrtKey;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.security.servlet.UserDetailsServiceAutoConfiguration;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.EventListener;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.oauth2.server.authorization.authentication.JwtClientAssertionAuthenticationProvider;
import org.springframework.security.oauth2.server.authorization.config.annotation.web.configurers.OAuth2AuthorizationServerConfigurer;
import org.springframework.security.oauth2.server.authorization.settings.AuthorizationServerSettings;
import org.springframework.security.oauth2.server.authorization.token.JwtEncodingContext;
import org.springframework.security.oauth2.server.authorization.token.OAuth2TokenCustomizer;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.HttpStatusEntryPoint;

/**
 * OAuth2 authorization server of the local test stack (Spring Authorization Server 1.5):
 * client_credentials only, HTTPS only on 127.0.0.1 (certificate from the stack CA), access tokens
 * are RS256 JWTs. Clients and keys come from the files scripts/stack/services/auth.sh writes; see
 * docs/security.md, "The local authorization server".
 */
@SpringBootApplication(exclude = UserDetailsServiceAutoConfiguration.class)
@EnableConfigurationProperties(AuthProperties.class)
public class AuthServerApplication {

  private static final Logger log = LoggerFactory.getLogger(AuthServerApplication.class);

  public static void main(String[] args) {
    SpringApplication.run(AuthServerApplication.class, args);
  }

  @Bean
  StackClients stackClients(AuthProperties properties) {
    return new StackClients(properties.clients() == null ? List.of() : properties.clients());
  }

  @Bean
  AuthorizationServerSettings authorizationServerSettings(AuthProperties properties) {
    return AuthorizationServerSettings.builder().issuer(properties.issuer()).build();
  }

  /** The key that signs access tokens, published at /oauth2/jwks (kid: its RFC 7638 thumbprint). */
  @Bean
  JWKSource<SecurityContext> jwkSource(AuthProperties properties) throws Exception {
    RSAPrivateCrtKey key = (RSAPrivateCrtKey) Pem.privateKey(properties.signingKeyFile(), "RSA");
    RSAKey jwk = new RSAKey.Builder(Pem.rsaPublicOf(key)).privateKey(key).keyIDFromThumbprint().build();
    return new ImmutableJWKSet<>(new JWKSet(jwk));
  }

  /**
   * Access token claims (RFC 9068 style, header typ at+jwt): iss, sub = client_id = the client,
   * aud = the secured FHIR base URL (or the client's own audience: the Kafka clients'), iat, nbf,
   * exp, jti, and scope as ONE space-separated string (SAS's default is a JSON array). Counts each
   * token issued, per client.
   */
  @Bean
  OAuth2TokenCustomizer<JwtEncodingContext> accessTokenClaims(AuthProperties properties, StackClients clients) {
    return context -> {
      String clientId = context.getRegisteredClient().getClientId();
      StackClients.Entry entry = clients.entry(clientId);
      String own = entry == null ? null : entry.config.audience();
      context.getJwsHeader().type("at+jwt");
      context.getClaims()
          .audience(List.of(own == null || own.isBlank() ? properties.audience() : own))
          .claim("client_id", clientId)
          .claim("scope", String.join(" ", context.getAuthorizedScopes()));
      if (entry != null) entry.tokensIssued.incrementAndGet();
    };
  }

  @Bean
  @Order(1)
  SecurityFilterChain authorizationServer(HttpSecurity http, AuthProperties properties, StackClients clients)
      throws Exception {
    OAuth2AuthorizationServerConfigurer as = OAuth2AuthorizationServerConfigurer.authorizationServer();
    String tokenEndpoint = properties.issuer() + "/oauth2/token";
    ClientAssertions assertions = new ClientAssertions(clients, tokenEndpoint, properties.assertionMaxSecondsOrDefault());
    http.securityMatcher(as.getEndpointsMatcher())
        .with(as, server -> server
            .registeredClientRepository(clients)
            .clientAuthentication(authentication -> authentication
                .authenticationConverters(converters -> converters.add(0, new ClientAssertions.ClientIdFromAssertion()))
                .authenticationProviders(providers -> providers.forEach(provider -> {
                  if (provider instanceof JwtClientAssertionAuthenticationProvider jwt) jwt.setJwtDecoderFactory(assertions);
                })))
            .authorizationServerMetadataEndpoint(metadata -> metadata.authorizationServerMetadataCustomizer(m -> m
                .grantTypes(grants -> grants.retainAll(List.of("client_credentials")))
                .tokenEndpointAuthenticationMethods(methods -> methods.retainAll(
                    List.of("client_secret_basic", "client_secret_post", "private_key_jwt")))
                .claim("token_endpoint_auth_signing_alg_values_supported", List.of("RS384", "ES384")))))
        .authorizeHttpRequests(authorize -> authorize.anyRequest().authenticated())
        .csrf(AbstractHttpConfigurer::disable)
        .exceptionHandling(e -> e.authenticationEntryPoint(new HttpStatusEntryPoint(HttpStatus.UNAUTHORIZED)));
    return http.build();
  }

  /** The admin API checks its own secret (AdminController); nothing else is served. */
  @Bean
  @Order(2)
  SecurityFilterChain everythingElse(HttpSecurity http) throws Exception {
    http.authorizeHttpRequests(authorize -> authorize.requestMatchers("/admin/**", "/error").permitAll().anyRequest().denyAll())
        .csrf(AbstractHttpConfigurer::disable)
        .exceptionHandling(e -> e.authenticationEntryPoint(new HttpStatusEntryPoint(HttpStatus.UNAUTHORIZED)));
    return http.build();
  }

  /** Counts every POST to the token endpoint, whatever its outcome (round trips per study). */
  @Bean
  FilterRegistrationBean<Filter> tokenRequestCounter(StackClients clients) {
    Filter counter = (request, response, chain) -> {
      HttpServletRequest http = (HttpServletRequest) request;
      if ("POST".equals(http.getMethod()) && "/oauth2/token".equals(http.getRequestURI())) {
        clients.tokenRequests.incrementAndGet();
      }
      chain.doFilter(request, response);
    };
    FilterRegistrationBean<Filter> registration = new FilterRegistrationBean<>(counter);
    registration.setOrder(Ordered.HIGHEST_PRECEDENCE);
    return registration;
  }

  @EventListener(ApplicationReadyEvent.class)
  public void ready() {
    log.info("Accepting requests");
  }
}
