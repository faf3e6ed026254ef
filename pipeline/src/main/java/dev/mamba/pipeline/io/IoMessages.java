package dev.mamba.pipeline.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * The reason of a file-system error in words. NIO's exceptions carry only the path as their message
 * ({@code AccessDeniedException: /proc/x}), which tells a user what failed but not why.
 */
public final class IoMessages {
    private IoMessages() {
    }

    /** e.g. "permission denied (/proc/x)", "no such file or directory (/a/b)", else the exception's message. */
    public static String reason(IOException e) {
        String why;
        if (e instanceof AccessDeniedException) {
            why = "permission denied";
        } else if (e instanceof NoSuchFileException) {
            why = "no such file or directory";
        } else if (e instanceof FileAlreadyExistsException) {
            why = "a file is in the way";
        } else if (e instanceof NotDirectoryException) {
            why = "not a directory";
        } else if (e instanceof DirectoryNotEmptyException) {
            why = "directory not empty";
        } else if (e instanceof FileSystemException && ((FileSystemException) e).getReason() != null) {
            why = ((FileSystemException) e).getReason().toLowerCase(java.util.Locale.ROOT);
        } else {
            return e.getMessage() != null ? e.getMessage() : e.toString();
        }
        String file = e instanceof FileSystemException ? ((FileSystemException) e).getFile() : null;
        return file != null ? why + " (" + file + ")" : why;
    }
}
