package org.covidtriage.fhirserver;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.api.EncodingEnum;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.JWTProcessor;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.Bundle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The secured port's resource server: every request to it except {@code GET /fhir/metadata} and
 * {@code GET /fhir/.well-known/smart-configuration} needs {@code Authorization: Bearer <JWT>} from
 * the stack's authorization server (signature against its JWKS, iss, aud, exp, nbf), and the SMART
 * system scopes its interaction needs ({@link SmartScopes}). A transaction or batch Bundle needs
 * the permissions of every entry. Requests to the plain port pass untouched.
 *
 * <p>Answers: no token → 401 {@code WWW-Authenticate: Bearer realm="fhir"} (RFC 6750 §3.1: no error
 * code when the request carries no credentials); a bad, expired or foreign token → 401 with
 * {@code error="invalid_token"}; a valid token lacking scopes → 403 with
 * {@code error="insufficient_scope"} and {@code scope="<the missing ones, SMART v2 form>"}. Bodies
 * are OperationOutcomes.
 */
final class BearerTokenFilter extends OncePerRequestFilter {
  private static final Logger log = LoggerFactory.getLogger(BearerTokenFilter.class);
  private static final String REALM = "fhir";

  private final int securePort;
  private final JWTProcessor<SecurityContext> tokens;
  private final FhirContext fhir;
  private final byte[] smartConfiguration;

  BearerTokenFilter(int securePort, JWTProcessor<SecurityContext> tokens, FhirContext fhir,
      Map<String, Object> smartConfiguration) throws IOException {
    this.securePort = securePort;
    this.tokens = tokens;
    this.fhir = fhir;
    this.smartConfiguration = new ObjectMapper().writeValueAsBytes(smartConfiguration);
  }

  @Override
  protected boolean shouldNotFilter(HttpServletRequest request) {
    return request.getLocalPort() != securePort;
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    String uri = request.getRequestURI().substring(request.getContextPath().length());
    if (!uri.equals("/fhir") && !uri.startsWith("/fhir/")) {
      deny(response, 404, "not-found", "only /fhir is served here");
      return;
    }
    List<String> path = new ArrayList<>();
    for (String s : uri.substring("/fhir".length()).split("/")) if (!s.isEmpty()) path.add(s);
    String method = request.getMethod();

    if (("GET".equals(method) || "HEAD".equals(method)) && path.equals(List.of("metadata"))) {
      chain.doFilter(request, response);
      return;
    }
    if ("GET".equals(method) && path.equals(List.of(".well-known", "smart-configuration"))) {
      response.setStatus(200);
      response.setContentType("application/json");
      response.getOutputStream().write(smartConfiguration);
      return;
    }

    String header = request.getHeader("Authorization");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7) || header.substring(7).isBlank()) {
      response.setHeader("WWW-Authenticate", "Bearer realm=\"" + REALM + "\"");
      deny(response, 401, "login", "a Bearer access token is required");
      return;
    }
    JWTClaimsSet claims;
    try {
      claims = tokens.process(header.substring(7).strip(), null);
    } catch (Exception e) {
      String why = String.valueOf(e.getMessage()).replaceAll("[\"\\\\\\r\\n]", "'");
      response.setHeader("WWW-Authenticate",
          "Bearer realm=\"" + REALM + "\", error=\"invalid_token\", error_description=\"" + why + "\"");
      deny(response, 401, "login", "invalid access token: " + why);
      return;
    }

    CachedBody body = null;
    SmartScopes.Needs needs;
    if (path.isEmpty() && "POST".equals(method)) {
      body = new CachedBody(request);
      needs = forBundle(request, body.bytes);
      if (needs == null) {
        deny(response, 400, "invalid", "only a transaction or batch Bundle can be posted to the base");
        return;
      }
    } else {
      boolean conditional = request.getQueryString() != null || request.getHeader("If-None-Exist") != null;
      needs = SmartScopes.forInteraction(method, path, conditional);
      if (needs == null) {
        deny(response, 403, "forbidden", "this path is not open on the secured port");
        return;
      }
    }
    Object scopeClaim = claims.getClaim("scope");
    SmartScopes scopes = new SmartScopes(scopeClaim instanceof String s ? s : null);
    List<String> missing = needs.missing(scopes);
    if (!missing.isEmpty()) {
      String need = String.join(" ", missing);
      response.setHeader("WWW-Authenticate", "Bearer realm=\"" + REALM
          + "\", error=\"insufficient_scope\", error_description=\"the token lacks " + need + "\", scope=\"" + need + "\"");
      deny(response, 403, "forbidden", "the token of " + claims.getSubject() + " lacks " + need);
      return;
    }
    chain.doFilter(body == null ? request : body.wrap(request), response);
  }

  /** Every entry's permissions; null when the body is not a transaction or batch Bundle. */
  private SmartScopes.Needs forBundle(HttpServletRequest request, byte[] bytes) {
    Bundle bundle;
    try {
      EncodingEnum encoding = EncodingEnum.forContentType(request.getContentType());
      String text = new String(bytes, StandardCharsets.UTF_8);
      bundle = (encoding == EncodingEnum.XML ? fhir.newXmlParser() : fhir.newJsonParser())
          .parseResource(Bundle.class, text);
    } catch (RuntimeException e) {
      log.debug("unreadable Bundle on the secured port", e);
      return null;
    }
    if (bundle.getType() != Bundle.BundleType.TRANSACTION && bundle.getType() != Bundle.BundleType.BATCH) return null;
    SmartScopes.Needs all = new SmartScopes.Needs();
    for (Bundle.BundleEntryComponent entry : bundle.getEntry()) {
      Bundle.BundleEntryRequestComponent r = entry.getRequest();
      if (r.getMethod() == null || r.getUrl() == null) return null;
      String url = r.getUrl();
      int q = url.indexOf('?');
      boolean conditional = q >= 0 || r.hasIfNoneExist();
      List<String> path = new ArrayList<>();
      for (String s : (q >= 0 ? url.substring(0, q) : url).split("/")) if (!s.isEmpty()) path.add(s);
      // An entry never reaches the base or a system-level operation: treat those as needing everything.
      SmartScopes.Needs one = path.isEmpty() ? null : SmartScopes.forInteraction(r.getMethod().toCode(), path, conditional);
      if (one == null) one = new SmartScopes.Needs().add("*", "cruds");
      one.byType.forEach((type, letters) -> all.add(type, letters.toString()));
    }
    return all;
  }

  private static void deny(HttpServletResponse response, int status, String code, String message)
      throws IOException {
    response.setStatus(status);
    response.setContentType("application/fhir+json;charset=UTF-8");
    Map<String, Object> issue = new LinkedHashMap<>();
    issue.put("severity", "error");
    issue.put("code", code);
    issue.put("diagnostics", message);
    Map<String, Object> outcome = new LinkedHashMap<>();
    outcome.put("resourceType", "OperationOutcome");
    outcome.put("issue", List.of(issue));
    response.getOutputStream().write(new ObjectMapper().writeValueAsBytes(outcome));
  }

  /** The request body read once for the check, replayed to HAPI. */
  private static final class CachedBody {
    final byte[] bytes;

    CachedBody(HttpServletRequest request) throws IOException {
      this.bytes = request.getInputStream().readAllBytes();
    }

    HttpServletRequest wrap(HttpServletRequest request) {
      return new HttpServletRequestWrapper(request) {
        @Override
        public ServletInputStream getInputStream() {
          ByteArrayInputStream in = new ByteArrayInputStream(bytes);
          return new ServletInputStream() {
            @Override
            public int read() {
              return in.read();
            }

            @Override
            public int read(byte[] b, int off, int len) {
              return in.read(b, off, len);
            }

            @Override
            public boolean isFinished() {
              return in.available() == 0;
            }

            @Override
            public boolean isReady() {
              return true;
            }

            @Override
            public void setReadListener(ReadListener listener) {
              throw new UnsupportedOperationException();
            }
          };
        }

        @Override
        public BufferedReader getReader() {
          String enc = getCharacterEncoding();
          return new BufferedReader(new InputStreamReader(new ByteArrayInputStream(bytes),
              enc == null ? StandardCharsets.UTF_8 : java.nio.charset.Charset.forName(enc)));
        }

        @Override
        public int getContentLength() {
          return bytes.length;
        }

        @Override
        public long getContentLengthLong() {
          return bytes.length;
        }
      };
    }
  }
}
