/**
 * ext2, ext3 and ext4, one implementation driven by the feature flags. This first part reads:
 * superblock and group descriptors (32- and 64-bit), inodes, extent trees and block maps,
 * directories, symlinks, with metadata_csum checked on the superblock and inodes.
 */
package io.jrump.fs.ext;
