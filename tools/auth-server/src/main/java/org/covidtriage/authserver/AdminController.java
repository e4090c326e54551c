package org.covidtriage.authserver;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

/**
 * The admin API the tests use, on the same loopback HTTPS port, under /admin, each call with
 * {@code Authorization: Bearer <the secret in auth.admin-secret-file>} (else 401). JSON in and out.
 * Changes live in memory until the server stops or POST /admin/reset.
 */
@RestController
class AdminController {
  private final StackClients clients;
  private final byte[] adminSecret;

  AdminController(StackClients clients, AuthProperties properties) {
    this.clients = clients;
    this.adminSecret = Pem.read(properties.adminSecretFile()).getBytes(StandardCharsets.UTF_8);
  }

  private boolean allowed(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) return false;
    byte[] given = authorization.substring(7).strip().getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(given, adminSecret);
  }

  private static ResponseEntity<Object> error(HttpStatus status, String message) {
    return ResponseEntity.status(status).body(Map.of("error", message));
  }

  private ResponseEntity<Object> withClient(String authorization, String clientId, ClientAction action) {
    if (!allowed(authorization)) return error(HttpStatus.UNAUTHORIZED, "admin secret required");
    StackClients.Entry e = clients.entry(clientId);
    if (e == null) return error(HttpStatus.NOT_FOUND, "no client " + clientId);
    return action.apply(e);
  }

  interface ClientAction {
    ResponseEntity<Object> apply(StackClients.Entry e);
  }

  /** Every client: id, enabled, methods, scopes, lifetime, tokens issued. */
  @GetMapping("/admin/clients")
  ResponseEntity<Object> list(@RequestHeader(name = "Authorization", required = false) String auth) {
    if (!allowed(auth)) return error(HttpStatus.UNAUTHORIZED, "admin secret required");
    return ResponseEntity.ok(clients.entries().stream().map(StackClients::describe).toList());
  }

  @GetMapping("/admin/clients/{id}")
  ResponseEntity<Object> one(@RequestHeader(name = "Authorization", required = false) String auth, @PathVariable String id) {
    return withClient(auth, id, e -> ResponseEntity.ok(StackClients.describe(e)));
  }

  /** The token endpoint then answers this client 401 invalid_client; tokens already issued stay valid. */
  @PostMapping("/admin/clients/{id}/disable")
  ResponseEntity<Object> disable(@RequestHeader(name = "Authorization", required = false) String auth, @PathVariable String id) {
    return withClient(auth, id, e -> {
      clients.setEnabled(e, false);
      return ResponseEntity.ok(StackClients.describe(e));
    });
  }

  @PostMapping("/admin/clients/{id}/enable")
  ResponseEntity<Object> enable(@RequestHeader(name = "Authorization", required = false) String auth, @PathVariable String id) {
    return withClient(auth, id, e -> {
      clients.setEnabled(e, true);
      return ResponseEntity.ok(StackClients.describe(e));
    });
  }

  /** Body {"secret": "..."}: the new secret works at once, the old one no longer. */
  @PutMapping("/admin/clients/{id}/secret")
  ResponseEntity<Object> rotate(@RequestHeader(name = "Authorization", required = false) String auth, @PathVariable String id,
      @RequestBody Map<String, Object> body) {
    return withClient(auth, id, e -> {
      Object secret = body.get("secret");
      if (!(secret instanceof String s) || s.isBlank()) return error(HttpStatus.BAD_REQUEST, "body must be {\"secret\": \"...\"}");
      boolean usesSecret = e.client.getClientAuthenticationMethods().contains(ClientAuthenticationMethod.CLIENT_SECRET_BASIC)
          || e.client.getClientAuthenticationMethods().contains(ClientAuthenticationMethod.CLIENT_SECRET_POST);
      if (!usesSecret) return error(HttpStatus.CONFLICT, id + " authenticates with a key, not a secret");
      clients.rotateSecret(e, s);
      return ResponseEntity.ok(StackClients.describe(e));
    });
  }

  /** Body {"seconds": n}: the lifetime of this client's next access tokens. */
  @PutMapping("/admin/clients/{id}/token-lifetime")
  ResponseEntity<Object> lifetime(@RequestHeader(name = "Authorization", required = false) String auth, @PathVariable String id,
      @RequestBody Map<String, Object> body) {
    return withClient(auth, id, e -> {
      Object seconds = body.get("seconds");
      if (!(seconds instanceof Number n) || n.longValue() < 1 || n.longValue() > 86_400) {
        return error(HttpStatus.BAD_REQUEST, "body must be {\"seconds\": 1..86400}");
      }
      clients.setLifetime(e, Duration.ofSeconds(n.longValue()));
      return ResponseEntity.ok(StackClients.describe(e));
    });
  }

  /** Access tokens issued per client since start, and every POST to the token endpoint (any outcome). */
  @GetMapping("/admin/tokens")
  ResponseEntity<Object> tokens(@RequestHeader(name = "Authorization", required = false) String auth) {
    if (!allowed(auth)) return error(HttpStatus.UNAUTHORIZED, "admin secret required");
    Map<String, Long> issued = new LinkedHashMap<>();
    for (StackClients.Entry e : clients.entries()) issued.put(e.config.id(), e.tokensIssued.get());
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("issued", issued);
    body.put("tokenRequests", clients.tokenRequests.get());
    return ResponseEntity.ok(body);
  }

  /** Every client back to its launch state (enabled, secret from its file, lifetime); counters stay. */
  @PostMapping("/admin/reset")
  ResponseEntity<Object> reset(@RequestHeader(name = "Authorization", required = false) String auth) {
    if (!allowed(auth)) return error(HttpStatus.UNAUTHORIZED, "admin secret required");
    clients.reset();
    return ResponseEntity.ok(clients.entries().stream().map(StackClients::describe).toList());
  }
}
