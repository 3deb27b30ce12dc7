/** Profile 1 (spec/profile.md): the only place with the protocol's constants. */
import { ascii } from "./bytes.js";

export const PROFILE_ID = 1;
export const PROFILE_NAME = "PARLEY_X25519_ED25519_AES256CBC_HMACSHA256_SHA256";

export const X3DH_INFO = ascii("Parley X3DH v1");
export const KDF_F = new Uint8Array(32).fill(0xff);
export const ZERO_SALT = new Uint8Array(32);
export const RATCHET_INFO = ascii("Parley ratchet v1");
export const MESSAGE_KEYS_INFO = ascii("Parley message keys v1");
export const NO_BUNDLE_INFO = ascii("Parley no-bundle v1");
export const IDENTITY_BINDING_LABEL = ascii("Parley identity binding v1");
export const BUNDLE_LABEL = ascii("Parley bundle v1");
export const CK_MESSAGE = Uint8Array.of(0x01);
export const CK_CHAIN = Uint8Array.of(0x02);

export const KEY_LEN = 32;
export const SIGNATURE_LEN = 64;
export const MAC_LEN = 32;
export const INSTALLATION_ID_LEN = 16;
export const IDENTITY_LEN = 128;

export const MAX_SKIP = 1000;
export const MAX_SKIPPED_KEYS = 2000;
export const RETIRED_CHAINS = 2;
export const MAX_PLAINTEXT = 1048576;
export const MAX_CIPHERTEXT = MAX_PLAINTEXT + 16;
export const MAX_ENCODED = MAX_PLAINTEXT + 4096;
export const MAX_INSTALLATIONS = 32;
export const MAX_ONE_TIME_PREKEYS = 100;
export const MAX_PROTOCOL_VERSIONS = 255;

export const BUNDLE_MAX_AGE = 2592000n;
export const CLOCK_SKEW = 300n;
export const SIGNED_PREKEY_ROTATION = 604800n;
export const SIGNED_PREKEY_GRACE = 3196800n;

/** The envelope format version this implementation reads and writes. */
export const ENVELOPE_VERSION = 1;
/** Protocol version 1, the only one defined. */
export const PROTOCOL_VERSION = 1;
