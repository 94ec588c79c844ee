#include "common/tls_files.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace netprobe {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

BioPtr MemoryBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Never prompts: an encrypted key fails to load instead of reading a
// passphrase from the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

std::string SubjectOf(X509* cert) {
  BioPtr out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, size > 0 ? size : 0);
}

absl::Time AsTime(const ASN1_TIME* t) {
  struct tm tm;
  if (ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTM(tm, absl::UTCTimeZone());
}

std::string Day(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<std::string> ReadSmallFile(const std::string& path,
                                          absl::string_view label, bool secret) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, " ", path, ": ", std::strerror(errno)));
  }
  std::string out;
  struct stat st;
  absl::Status status;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = absl::InvalidArgumentError(absl::StrCat(label, " ", path, ": not a file"));
  } else if (st.st_size > static_cast<off_t>(kMaxFileBytes)) {
    status =
        absl::InvalidArgumentError(absl::StrCat(label, " ", path, ": larger than 1 MiB"));
  } else if (secret && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    status = absl::InvalidArgumentError(absl::StrFormat(
        "%s %s: every user may read or write it (mode %04o); its secret is not safe "
        "there: chmod o-rw %s",
        label, path, st.st_mode & 07777, path));
  } else {
    out.resize(kMaxFileBytes + 1);
    size_t used = 0;
    while (used < out.size()) {
      const ssize_t n = read(fd, out.data() + used, out.size() - used);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = absl::InvalidArgumentError(
            absl::StrCat(label, " ", path, ": ", std::strerror(errno)));
        break;
      }
      if (n == 0) break;
      used += n;
    }
    out.resize(used);
    if (status.ok() && used > kMaxFileBytes) {
      status = absl::InvalidArgumentError(
          absl::StrCat(label, " ", path, ": larger than 1 MiB"));
    }
  }
  close(fd);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<CertificateFacts> CheckCertificateAndKey(absl::string_view cert_pem,
                                                        absl::string_view key_pem,
                                                        absl::string_view cert_label,
                                                        absl::string_view key_label,
                                                        absl::Time now) {
  ERR_clear_error();
  BioPtr cert_bio = MemoryBio(cert_pem);
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, NoPassphrase, nullptr));
  if (cert == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(cert_label, ": no PEM certificate (-----BEGIN CERTIFICATE-----)"));
  }
  BioPtr key_bio = MemoryBio(key_pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(key_label,
                     ": no PEM private key, or an encrypted one (gRPC needs it "
                     "unencrypted)"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        key_label, ": not the private key of the certificate in ", cert_label));
  }
  CertificateFacts facts;
  facts.subject = SubjectOf(cert.get());
  facts.not_after = AsTime(X509_get0_notAfter(cert.get()));
  const absl::Time not_before = AsTime(X509_get0_notBefore(cert.get()));
  if (now > facts.not_after) {
    return absl::InvalidArgumentError(absl::StrCat(cert_label, ": certificate ",
                                                   facts.subject, " expired on ",
                                                   Day(facts.not_after)));
  }
  if (now < not_before) {
    return absl::InvalidArgumentError(absl::StrCat(cert_label, ": certificate ",
                                                   facts.subject, " is valid only from ",
                                                   Day(not_before)));
  }
  return facts;
}

absl::StatusOr<std::string> CheckCaBundle(absl::string_view pem,
                                          absl::string_view label) {
  ERR_clear_error();
  BioPtr bio = MemoryBio(pem);
  std::string first;
  for (int count = 0;; ++count) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
    if (cert == nullptr) {
      const unsigned long error = ERR_peek_last_error();
      ERR_clear_error();
      // The end of the bundle: no further BEGIN line.
      if (count > 0 && ERR_GET_REASON(error) == PEM_R_NO_START_LINE) return first;
      return absl::InvalidArgumentError(absl::StrCat(
          label, count == 0
                     ? ": no PEM certificate (-----BEGIN CERTIFICATE-----)"
                     : absl::StrCat(": certificate ", count + 1, " does not parse")));
    }
    if (count == 0) first = SubjectOf(cert.get());
  }
}

}  // namespace netprobe
