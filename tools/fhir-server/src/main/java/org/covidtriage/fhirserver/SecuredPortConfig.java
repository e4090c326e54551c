package org.covidtriage.fhirserver;

import ca.uhn.fhir.context.FhirContext;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import jakarta.servlet.Filter;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.catalina.connector.Connector;
import org.apache.coyote.http11.Http11NioProtocol;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.web.embedded.tomcat.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;

/**
 * The secured port: a second Tomcat connector, HTTPS only (certificate from the stack CA), on
 * fhir.secure.port, where {@link BearerTokenFilter} admits only requests carrying an access token
 * of the stack's authorization server with the SMART scopes they need. The plain port
 * (server.port) stays as it was, unauthenticated. Off unless fhir.secure.port is set
 * (scripts/stack/services/fhir.sh sets it and the rest):
 *
 * <pre>
 * fhir.secure.port                the HTTPS port (e.g. 18083)
 * fhir.secure.certificate         PEM certificate of 127.0.0.1 (from the stack CA)
 * fhir.secure.private-key         its PKCS#8 PEM key
 * fhir.secure.ca-file             PEM CA that the authorization server's certificate chains to
 * fhir.secure.issuer              the tokens' iss, e.g. https://127.0.0.1:18443
 * fhir.secure.jwks-uri            where its signing keys are (default issuer + /oauth2/jwks)
 * fhir.secure.audience            the aud the tokens must carry (default https://127.0.0.1:port/fhir)
 * fhir.secure.clock-skew-seconds  leeway on exp and nbf (default 5)
 * </pre>
 */
@Configuration
@ConditionalOnProperty("fhir.secure.port")
public class SecuredPortConfig {
  private static final Logger log = LoggerFactory.getLogger(SecuredPortConfig.class);

  @Value("${fhir.secure.port}")
  int port;

  @Value("${fhir.secure.certificate}")
  String certificate;

  @Value("${fhir.secure.private-key}")
  String privateKey;

  @Value("${fhir.secure.ca-file}")
  String caFile;

  @Value("${fhir.secure.issuer}")
  String issuer;

  @Value("${fhir.secure.jwks-uri:}")
  String jwksUri;

  @Value("${fhir.secure.audience:}")
  String audience;

  @Value("${fhir.secure.clock-skew-seconds:5}")
  int clockSkewSeconds;

  @Value("${server.tomcat.relaxed-query-chars:}")
  String relaxedQueryChars;

  String audience() {
    return audience.isBlank() ? "https://127.0.0.1:" + port + "/fhir" : audience;
  }

  String jwksUri() {
    return jwksUri.isBlank() ? issuer + "/oauth2/jwks" : jwksUri;
  }

  @Bean
  public WebServerFactoryCustomizer<TomcatServletWebServerFactory> securedConnector() {
    return factory -> {
      Connector connector = new Connector(Http11NioProtocol.class.getName());
      connector.setPort(port);
      connector.setScheme("https");
      connector.setSecure(true);
      connector.setProperty("address", "127.0.0.1");
      // As server.tomcat.relaxed-query-chars does for the plain connector: FHIR token searches use '|'.
      if (!relaxedQueryChars.isBlank()) connector.setProperty("relaxedQueryChars", relaxedQueryChars);
      Http11NioProtocol protocol = (Http11NioProtocol) connector.getProtocolHandler();
      protocol.setSSLEnabled(true);
      SSLHostConfig host = new SSLHostConfig();
      host.setProtocols("TLSv1.2+TLSv1.3");
      SSLHostConfigCertificate cert = new SSLHostConfigCertificate(host, SSLHostConfigCertificate.Type.UNDEFINED);
      cert.setCertificateFile(certificate);
      cert.setCertificateKeyFile(privateKey);
      host.addCertificate(cert);
      connector.addSslHostConfig(host);
      factory.addAdditionalTomcatConnectors(connector);
    };
  }

  /**
   * Access tokens: JWS signed with an asymmetric key from the authorization server's JWKS (fetched
   * over HTTPS trusting only fhir.secure.ca-file, cached, fetched again when an unknown kid shows
   * up), header typ at+jwt or JWT, iss = fhir.secure.issuer, aud contains fhir.secure.audience,
   * exp and sub present, exp/nbf checked with fhir.secure.clock-skew-seconds of leeway.
   */
  DefaultJWTProcessor<SecurityContext> tokenProcessor() throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(Path.of(caFile))) {
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        trust.setCertificateEntry("ca" + i++, c);
      }
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, tmf.getTrustManagers(), null);
    DefaultResourceRetriever retriever = new DefaultResourceRetriever(2000, 5000, 64 * 1024, true, tls.getSocketFactory());
    // Fetched again at most every 2 s when a token names a kid the cache lacks (a fresh launch of
    // the authorization server has a new signing key); the default 30 s would refuse good tokens.
    JWKSource<SecurityContext> keys = JWKSourceBuilder.<SecurityContext>create(URI.create(jwksUri()).toURL(), retriever)
        .rateLimited(2000)
        .build();
    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSTypeVerifier(
        new DefaultJOSEObjectTypeVerifier<>(new JOSEObjectType("at+jwt"), JOSEObjectType.JWT, null));
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(
        Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512, JWSAlgorithm.PS256, JWSAlgorithm.ES256,
            JWSAlgorithm.ES384),
        keys));
    // Mutable sets: Nimbus asks them contains(null), which Set.of(...) answers with a NullPointerException.
    DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(
        new HashSet<>(List.of(audience())), new JWTClaimsSet.Builder().issuer(issuer).build(),
        new HashSet<>(List.of("exp", "sub")), new HashSet<>());
    claims.setMaxClockSkew(clockSkewSeconds);
    processor.setJWTClaimsSetVerifier(claims);
    return processor;
  }

  @Bean
  public FilterRegistrationBean<Filter> bearerTokens(FhirContext fhir) throws Exception {
    Map<String, Object> smart = new LinkedHashMap<>();
    smart.put("issuer", issuer);
    smart.put("jwks_uri", jwksUri());
    smart.put("token_endpoint", issuer + "/oauth2/token");
    smart.put("grant_types_supported", List.of("client_credentials"));
    smart.put("token_endpoint_auth_methods_supported",
        List.of("private_key_jwt", "client_secret_basic", "client_secret_post"));
    smart.put("token_endpoint_auth_signing_alg_values_supported", List.of("RS384", "ES384"));
    smart.put("scopes_supported", List.of("system/*.read", "system/*.rs", "system/DiagnosticReport.write",
        "system/DiagnosticReport.cu"));
    smart.put("capabilities", List.of("client-confidential-asymmetric", "client-confidential-symmetric",
        "permission-v1", "permission-v2"));
    FilterRegistrationBean<Filter> registration =
        new FilterRegistrationBean<>(new BearerTokenFilter(port, tokenProcessor(), fhir, smart));
    // Before the readiness gate (which only answers 503 while starting) and HAPI's servlet.
    registration.setOrder(Ordered.LOWEST_PRECEDENCE - 1);
    log.info("Secured port {}: tokens of {} for {}", port, issuer, audience());
    return registration;
  }
}
