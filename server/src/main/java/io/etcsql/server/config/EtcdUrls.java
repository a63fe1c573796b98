package io.etcsql.server.config;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * URL handling with etcd 3.4's rules and messages ({@code pkg/types/urls.go},
 * {@code pkg/types/urlsmap.go}, {@code embed/config.go}, {@code pkg/netutil}).
 */
final class EtcdUrls {

    private EtcdUrls() {
    }

    /** A URL value that etcd would reject; the message is etcd's. */
    static final class UrlException extends Exception {
        private static final long serialVersionUID = 1L;

        UrlException(String message) {
            super(message);
        }
    }

    private static final Set<String> ETCD_SCHEMES = Set.of("http", "https", "unix", "unixs");

    /** Ordering etcd uses for URL lists ({@code types.URLs.Sort}: by string form). */
    static final Comparator<URI> BY_STRING = Comparator.comparing(URI::toString);

    /**
     * etcd's {@code types.NewURLs(strings.Split(s, ","))}: each element trimmed, validated, and the
     * list sorted by string form.
     */
    static List<URI> parseList(String s) throws UrlException {
        return parseAll(List.of(s.split(",", -1)));
    }

    /** etcd's {@code types.NewURLs}. */
    static List<URI> parseAll(List<String> strs) throws UrlException {
        if (strs.isEmpty()) {
            throw new UrlException("no valid URLs given");
        }
        List<URI> all = new ArrayList<>(strs.size());
        for (String in : strs) {
            all.add(parseOne(in.strip()));
        }
        all.sort(BY_STRING);
        return List.copyOf(all);
    }

    /** One URL, with the checks of {@code types.NewURLs} and the messages of Go's url.Parse. */
    static URI parseOne(String in) throws UrlException {
        // Go's url.getScheme.
        String scheme = null;
        String rest = in;
        for (int i = 0; i < in.length(); i++) {
            char c = in.charAt(i);
            if (isAsciiLetter(c)) {
                continue;
            }
            if ((isDigit(c) || c == '+' || c == '-' || c == '.') && i > 0) {
                continue;
            }
            if (c == ':') {
                if (i == 0) {
                    throw new UrlException("parse \"" + in + "\": missing protocol scheme");
                }
                scheme = in.substring(0, i).toLowerCase(Locale.ROOT);
                rest = in.substring(i + 1);
            }
            break;
        }
        if (scheme == null) {
            int slash = rest.indexOf('/');
            String firstSegment = slash < 0 ? rest : rest.substring(0, slash);
            if (firstSegment.indexOf(':') >= 0) {
                throw new UrlException("parse \"" + in + "\": first path segment in URL cannot contain colon");
            }
            scheme = "";
        }
        if (!ETCD_SCHEMES.contains(scheme)) {
            throw new UrlException("URL scheme must be http, https, unix, or unixs: " + in);
        }
        String hostPortError = "URL address does not have the form \"host:port\": " + in;
        if (!rest.startsWith("//")) {
            throw new UrlException(hostPortError);
        }
        String afterSlashes = rest.substring(2);
        int authorityEnd = indexOfAny(afterSlashes, "/?#");
        String authority = authorityEnd < 0 ? afterSlashes : afterSlashes.substring(0, authorityEnd);
        String tail = authorityEnd < 0 ? "" : afterSlashes.substring(authorityEnd);
        String hostPort = authority.substring(authority.lastIndexOf('@') + 1);
        String host;
        String port;
        if (hostPort.startsWith("[")) {
            int close = hostPort.indexOf(']');
            if (close < 0) {
                throw new UrlException("parse \"" + in + "\": missing ']' in host");
            }
            if (close + 1 >= hostPort.length() || hostPort.charAt(close + 1) != ':') {
                throw new UrlException(hostPortError);
            }
            host = hostPort.substring(1, close);
            port = hostPort.substring(close + 2);
        } else {
            int colon = hostPort.lastIndexOf(':');
            if (colon < 0 || hostPort.indexOf(':') != colon) {
                throw new UrlException(hostPortError);
            }
            host = hostPort.substring(0, colon);
            port = hostPort.substring(colon + 1);
        }
        for (int i = 0; i < port.length(); i++) {
            if (!isDigit(port.charAt(i))) {
                throw new UrlException("parse \"" + in + "\": invalid port \":" + port + "\" after host");
            }
        }
        if (port.isEmpty()) {
            // Go accepts an empty port here (and later listens on a random one); etcsql requires it.
            throw new UrlException(hostPortError);
        }
        if (port.length() > 5 || Integer.parseInt(port) > 65535) {
            throw new UrlException("parse \"" + in + "\": invalid port \":" + port + "\" after host");
        }
        int pathEnd = indexOfAny(tail, "?#");
        String path = pathEnd < 0 ? tail : tail.substring(0, pathEnd);
        if (!path.isEmpty()) {
            throw new UrlException("URL must not contain a path: " + in);
        }
        if (host.indexOf(' ') >= 0) {
            throw new UrlException("parse \"" + in + "\": invalid character \" \" in host name");
        }
        try {
            URI uri = new URI(scheme + ":" + rest);
            if (!host.isEmpty()) {
                uri = uri.parseServerAuthority();
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new UrlException("parse \"" + in + "\": " + e.getReason());
        }
    }

    /**
     * etcd's {@code types.NewURLsMap}: {@code name=url,name=url,...}, a name may repeat to give a
     * member several URLs. Members keep their first-appearance order; each member's URLs are
     * sorted like every etcd URL list.
     */
    static Map<String, List<URI>> parseCluster(String s) throws UrlException {
        Map<String, List<String>> raw = new LinkedHashMap<>();
        for (String entry : s.split(",", -1)) {
            if (entry.isEmpty()) {
                continue;
            }
            String key = entry;
            String value = "";
            int eq = entry.indexOf('=');
            if (eq >= 0) {
                key = entry.substring(0, eq);
                value = entry.substring(eq + 1);
            }
            raw.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
        }
        Map<String, List<URI>> out = new LinkedHashMap<>();
        for (Map.Entry<String, List<String>> e : raw.entrySet()) {
            out.put(e.getKey(), parseAll(e.getValue()));
        }
        return out;
    }

    /** etcd's {@code types.URLsMap.String()}: {@code name=url} pairs, sorted, comma-joined. */
    static String clusterString(Map<String, List<URI>> cluster) {
        List<String> all = new ArrayList<>();
        for (Map.Entry<String, List<URI>> e : cluster.entrySet()) {
            for (URI u : e.getValue()) {
                all.add(e.getKey() + "=" + u);
            }
        }
        all.sort(Comparator.naturalOrder());
        return String.join(",", all);
    }

    /** Comma-joined string forms, in list order. */
    static String join(List<URI> urls) {
        List<String> s = new ArrayList<>(urls.size());
        for (URI u : urls) {
            s.add(u.toString());
        }
        return String.join(",", s);
    }

    /** The host part without IPv6 brackets (Go's {@code net.SplitHostPort} host). */
    static String host(URI u) {
        String h = u.getHost();
        if (h == null) {
            return "";
        }
        if (h.startsWith("[") && h.endsWith("]")) {
            return h.substring(1, h.length() - 1);
        }
        return h;
    }

    /** etcd's {@code checkBindURLs}: a listen URL must name an IP address or {@code localhost}. */
    static void checkBind(List<URI> urls) throws UrlException {
        for (URI u : urls) {
            if (u.getScheme().equals("unix") || u.getScheme().equals("unixs")) {
                continue;
            }
            String host = host(u);
            if (host.equals("localhost")) {
                continue;
            }
            if (!isIpLiteral(host)) {
                throw new UrlException("expected IP in URL for binding (" + u + ")");
            }
        }
    }

    /** etcd's {@code checkHostURLs}: an advertised URL must have a host. */
    static void checkHost(List<URI> urls) throws UrlException {
        for (URI u : urls) {
            if (host(u).isEmpty()) {
                throw new UrlException("unexpected empty host (" + u + ")");
            }
        }
    }

    /** Go's {@code net.ParseIP(host) != nil}. */
    static boolean isIpLiteral(String host) {
        if (host.isEmpty()) {
            return false;
        }
        if (host.indexOf(':') >= 0) {
            if (host.indexOf('%') >= 0) {
                return false;
            }
            try {
                // A string containing ':' is only ever parsed as an IPv6 literal: no DNS lookup.
                InetAddress.getByName("[" + host + "]");
                return true;
            } catch (UnknownHostException e) {
                return false;
            }
        }
        String[] parts = host.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
                return false;
            }
            for (int i = 0; i < p.length(); i++) {
                if (!isDigit(p.charAt(i))) {
                    return false;
                }
            }
            if (Integer.parseInt(p) > 255) {
                return false;
            }
        }
        return true;
    }

    /**
     * etcd's {@code netutil.URLStringsEqual}: equal as strings, or equal once every host is
     * resolved to an IP address. Returns null when equal, else the reason (etcd's wording).
     */
    static String urlsEqual(List<URI> a, List<URI> b) {
        if (a.size() != b.size()) {
            return "len(" + goQuoted(a) + ") != len(" + goQuoted(b) + ")";
        }
        List<URI> sa = new ArrayList<>(a);
        List<URI> sb = new ArrayList<>(b);
        sa.sort(BY_STRING);
        sb.sort(BY_STRING);
        if (join(sa).equals(join(sb))) {
            return null;
        }
        List<URI> ra = new ArrayList<>();
        List<URI> rb = new ArrayList<>();
        try {
            for (URI u : sa) {
                ra.add(resolve(u));
            }
            for (URI u : sb) {
                rb.add(resolve(u));
            }
        } catch (UrlException e) {
            return e.getMessage();
        }
        ra.sort(BY_STRING);
        rb.sort(BY_STRING);
        for (int i = 0; i < ra.size(); i++) {
            if (!ra.get(i).toString().equals(rb.get(i).toString())) {
                return "resolved urls: \"" + ra.get(i) + "\" != \"" + rb.get(i) + "\"";
            }
        }
        return null;
    }

    /** Go's {@code %q} of a {@code []string}: {@code ["a" "b"]}. */
    private static String goQuoted(List<URI> urls) {
        List<String> q = new ArrayList<>();
        for (URI u : urls) {
            q.add("\"" + u + "\"");
        }
        return "[" + String.join(" ", q) + "]";
    }

    /**
     * The URL with its host name replaced by its first address (netutil.resolveURL: IP literals,
     * {@code localhost} and unix URLs are left alone). etcd retries a failed lookup for up to 30
     * seconds; this fails at once.
     */
    private static URI resolve(URI u) throws UrlException {
        String host = host(u);
        if (host.equals("localhost") || isIpLiteral(host)
                || u.getScheme().equals("unix") || u.getScheme().equals("unixs")) {
            return u;
        }
        InetAddress chosen;
        try {
            chosen = InetAddress.getAllByName(host)[0];
        } catch (UnknownHostException e) {
            throw new UrlException("failed to resolve \"" + u + "\" (lookup " + host + ": no such host)");
        }
        String ip = chosen.getHostAddress();
        int zone = ip.indexOf('%');
        if (zone >= 0) {
            ip = ip.substring(0, zone);
        }
        String hostPort = (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + u.getPort();
        String userInfo = u.getRawUserInfo() == null ? "" : u.getRawUserInfo() + "@";
        return URI.create(u.getScheme() + "://" + userInfo + hostPort
                + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery())
                + (u.getRawFragment() == null ? "" : "#" + u.getRawFragment()));
    }

    private static int indexOfAny(String s, String chars) {
        for (int i = 0; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
