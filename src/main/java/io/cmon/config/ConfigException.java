package io.cmon.config;

/** A config file that cannot be used: names the file, the key and what is wrong with it. */
public final class ConfigException extends RuntimeException {

    private final String file;
    private final String key;
    private final String problem;

    public ConfigException(String file, String key, String problem) {
        super(file + ": " + (key == null || key.isEmpty() ? "" : "key '" + key + "': ") + problem);
        this.file = file;
        this.key = key;
        this.problem = problem;
    }

    /** For validators that do not know the file name: {@link ConfigLoader} adds it. */
    public static ConfigException key(String key, String problem) {
        return new ConfigException("<config>", key, problem);
    }

    /** A bind failure as a config error naming the key (the flags --listen/--admin-listen override the same). */
    public static ConfigException cannotListen(String key, HostPort address, Throwable e) {
        String why = String.valueOf(e.getMessage());
        if (why.contains("Address already in use")) why = "address already in use (another process listens there)";
        else if (why.contains("Cannot assign requested address")) why = "no interface of this machine has that address";
        else if (why.contains("Permission denied")) why = "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)";
        return ConfigException.key(key, "cannot listen on " + address + ": " + why);
    }

    public ConfigException inFile(String file) {
        return new ConfigException(file, key, problem);
    }

    public String file() {
        return file;
    }

    public String key() {
        return key;
    }

    public String problem() {
        return problem;
    }
}
