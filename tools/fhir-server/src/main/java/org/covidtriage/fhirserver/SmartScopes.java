package org.covidtriage.fhirserver;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SMART App Launch system scopes, v1 and v2, and the permissions a request needs.
 *
 * <p>Permissions are SMART v2's letters per resource type: c create, r read (read, vread, instance
 * history), u update (and patch), d delete, s search (and type or system history). A granted scope
 * maps onto them:
 *
 * <ul>
 *   <li>v1 {@code system/<Type|*>.read} = rs, {@code .write} = cud, {@code .*} = cruds;
 *   <li>v2 {@code system/<Type|*>.<letters>}, letters a non-empty subsequence of "cruds";
 *   <li>anything else grants nothing: {@code patient/} and {@code user/} contexts (a backend service
 *       has no patient or user), v2 scopes with a {@code ?query} restriction, malformed scopes.
 * </ul>
 */
final class SmartScopes {
  private static final Pattern SCOPE = Pattern.compile("^system/(\\*|[A-Z][A-Za-z]+)\\.(read|write|\\*|c?r?u?d?s?)$");
  static final Pattern TYPE = Pattern.compile("^[A-Z][A-Za-z]+$");

  /** type (or "*") -> letters granted. */
  private final Map<String, Set<Character>> granted = new TreeMap<>();

  SmartScopes(String scopeClaim) {
    if (scopeClaim == null) return;
    for (String scope : scopeClaim.trim().split("\\s+")) {
      Matcher m = SCOPE.matcher(scope);
      if (!m.matches() || m.group(2).isEmpty()) continue;
      String letters = switch (m.group(2)) {
        case "read" -> "rs";
        case "write" -> "cud";
        case "*" -> "cruds";
        default -> m.group(2);
      };
      Set<Character> set = granted.computeIfAbsent(m.group(1), k -> new TreeSet<>());
      for (char c : letters.toCharArray()) set.add(c);
    }
  }

  boolean allows(String type, char letter) {
    Set<Character> own = granted.get(type);
    Set<Character> any = granted.get("*");
    return (own != null && own.contains(letter)) || (any != null && any.contains(letter));
  }

  /** What a request needs: type (or "*" for system level) -> letters, in "cruds" order. */
  static final class Needs {
    final Map<String, StringBuilder> byType = new LinkedHashMap<>();

    Needs add(String type, String letters) {
      StringBuilder have = byType.computeIfAbsent(type, k -> new StringBuilder());
      for (char c : letters.toCharArray()) if (have.indexOf(String.valueOf(c)) < 0) have.append(c);
      return this;
    }

    /** The needs the scopes do not cover, as SMART v2 scopes ("system/Patient.cs"), empty when none. */
    List<String> missing(SmartScopes scopes) {
      List<String> out = new ArrayList<>();
      for (Map.Entry<String, StringBuilder> e : byType.entrySet()) {
        StringBuilder lack = new StringBuilder();
        for (char c : "cruds".toCharArray()) {
          if (e.getValue().indexOf(String.valueOf(c)) >= 0 && !scopes.allows(e.getKey(), c)) lack.append(c);
        }
        if (lack.length() > 0) out.add("system/" + e.getKey() + "." + lack);
      }
      return out;
    }
  }

  /**
   * The permissions of one REST interaction, from its method, its path below the base split into
   * segments, and whether it is conditional (a query on a write, If-None-Exist / ifNoneExist on a
   * create): a conditional write also needs search (s) on its type, as it reveals whether a match
   * exists. Returns null for a path that is not a FHIR REST interaction this server checks.
   */
  static Needs forInteraction(String method, List<String> path, boolean conditional) {
    Needs needs = new Needs();
    int n = path.size();
    if (n == 0) {
      // System level: search or history (GET), anything else needs everything on every type.
      return "GET".equals(method) ? needs.add("*", "s") : needs.add("*", "cruds");
    }
    String first = path.get(0);
    if (first.startsWith("$")) return operation(needs, "*", first);
    if ("_history".equals(first) || "_search".equals(first)) return needs.add("*", "s");
    if (!TYPE.matcher(first).matches()) return null;
    String type = first;
    if (n == 1) {
      return switch (method) {
        case "GET", "HEAD" -> needs.add(type, "s");
        case "POST" -> needs.add(type, conditional ? "cs" : "c");
        case "PUT", "PATCH" -> needs.add(type, "us"); // conditional update: Type?query
        case "DELETE" -> needs.add(type, "ds"); // conditional delete
        default -> needs.add(type, "cruds");
      };
    }
    String second = path.get(1);
    if ("_search".equals(second) || "_history".equals(second)) return needs.add(type, "s");
    if (second.startsWith("$")) return operation(needs, type, second);
    if (n >= 3 && path.get(2).startsWith("$")) return operation(needs, type, path.get(2));
    if (n >= 3 && "_history".equals(path.get(2))) return needs.add(type, "r");
    if (n >= 3 && TYPE.matcher(path.get(2)).matches()) {
      // Compartment search: Patient/1/Observation
      return needs.add(type, "r").add(path.get(2), "s");
    }
    if (n > 2) return null;
    return switch (method) {
      case "GET", "HEAD" -> needs.add(type, "r");
      case "PUT", "PATCH" -> needs.add(type, conditional ? "us" : "u");
      case "DELETE" -> needs.add(type, "d");
      default -> needs.add(type, "cruds");
    };
  }

  /** $validate reads; every other operation needs every permission on its type ("*": all types). */
  private static Needs operation(Needs needs, String type, String name) {
    return "$validate".equals(name) ? needs.add(type, "r") : needs.add(type, "cruds");
  }
}
