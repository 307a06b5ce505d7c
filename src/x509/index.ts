/**
 * Certificate parsing: bytes in, records and typed errors out, no I/O.
 *
 * - parseCertificate(der): one DER certificate → ParsedCertificate (the silver `certificates`
 *   columns as Zeek would log them, plus name parts), or X509Error when it is not one.
 * - certificatesFromFile(bytes): every certificate in a DER, PEM or PKCS#7 file, with positions,
 *   and what could not be read.
 * - parsePemBlocks(text): the PEM blocks in any text, with truncation and base64 problems.
 * - pkcs7Certificates(der): where the certificates of a SignedData bundle are.
 */
export { type ParseOptions, type ParsedCertificate, parseCertificate } from './certificate.js';
export { X509Error } from './error.js';
export { type FileProblem, type FoundCertificate, certificatesFromFile } from './file.js';
export { type PemBlock, type PemProblem, parsePemBlocks } from './pem.js';
export { type Pkcs7Contents, pkcs7Certificates } from './pkcs7.js';
