package io.jrump.fs.nio;

import java.util.regex.PatternSyntaxException;

/**
 * Glob to regular expression, with the default filesystem's rules on Unix: {@code *} matches
 * within a name, {@code **} across names, {@code ?} one character but {@code /},
 * {@code [a-z]} and {@code [!a]} a class, {@code {a,b}} alternatives (not nested), {@code \}
 * escapes.
 */
final class Globs {
    private static final String META = "\\^$.|?*+()[]{}";

    private Globs() {
    }

    static String toRegex(String glob) {
        StringBuilder re = new StringBuilder("^");
        boolean inGroup = false;
        int i = 0;
        while (i < glob.length()) {
            char c = glob.charAt(i++);
            switch (c) {
                case '\\' -> {
                    if (i == glob.length()) {
                        throw new PatternSyntaxException("No character to escape", glob, i - 1);
                    }
                    quote(re, glob.charAt(i++));
                }
                case '/' -> re.append('/');
                case '[' -> {
                    re.append("[[^/]&&[");
                    if (i < glob.length() && glob.charAt(i) == '^') {
                        re.append("\\^");
                        i++;
                    } else if (i < glob.length() && glob.charAt(i) == '!') {
                        re.append('^');
                        i++;
                    }
                    boolean closed = false;
                    while (i < glob.length()) {
                        char k = glob.charAt(i++);
                        if (k == ']') {
                            closed = true;
                            break;
                        }
                        if (k == '/') {
                            throw new PatternSyntaxException("Explicit 'name separator' in class", glob, i - 1);
                        }
                        if (k == '\\' || k == '[' || k == '&' && i < glob.length() && glob.charAt(i) == '&') {
                            re.append('\\');
                        }
                        re.append(k);
                    }
                    if (!closed) {
                        throw new PatternSyntaxException("Missing ']'", glob, i - 1);
                    }
                    re.append("]]");
                }
                case '{' -> {
                    if (inGroup) {
                        throw new PatternSyntaxException("Cannot nest groups", glob, i - 1);
                    }
                    re.append("(?:(?:");
                    inGroup = true;
                }
                case '}' -> {
                    if (inGroup) {
                        re.append("))");
                        inGroup = false;
                    } else {
                        re.append('}');
                    }
                }
                case ',' -> re.append(inGroup ? ")|(?:" : ",");
                case '*' -> {
                    if (i < glob.length() && glob.charAt(i) == '*') {
                        re.append(".*");
                        i++;
                    } else {
                        re.append("[^/]*");
                    }
                }
                case '?' -> re.append("[^/]");
                default -> quote(re, c);
            }
        }
        if (inGroup) {
            throw new PatternSyntaxException("Missing '}'", glob, glob.length() - 1);
        }
        return re.append('$').toString();
    }

    private static void quote(StringBuilder re, char c) {
        if (META.indexOf(c) >= 0) {
            re.append('\\');
        }
        re.append(c);
    }
}
