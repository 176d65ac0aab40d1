/* Small dense Hermitian eigenproblems on the host: the Rayleigh-Ritz step of the block eigensolver
 * (lobpcg.c) diagonalises matrices of a few dozen rows. Matrices are n x n, row-major, interleaved
 * complex: element (i, j) is m[2 (i n + j)] + i m[2 (i n + j) + 1]. */
#ifndef QDML_DENSE_EIG_H
#define QDML_DENSE_EIG_H

/* Eigenvalues w (ascending) and eigenvectors (the columns of the unitary v) of the Hermitian a, by
 * cyclic Jacobi rotations (each made real by a phase first); the result satisfies a v = v diag(w) to a
 * few units of rounding times the norm of a. Only the Hermitian part of a is used: (a + a^H) / 2.
 * Returns 0, -1 when a is not finite, n < 1 or 100 sweeps did not converge, -2 when memory fails. */
int qdml_herm_eig(int n, const double *a, double *w, double *v);

/* The generalised problem a c = lambda s c with s Hermitian positive semi-definite (a Gram matrix),
 * by canonical orthogonalisation: the directions of s with eigenvalues below rel_floor times its
 * largest are dropped (the basis is (nearly) dependent there), and a is diagonalised in the rest.
 * Writes the rank r kept to *rank, the r eigenvalues ascending to w and the n x r coefficient matrix
 * (row-major, interleaved complex, s-orthonormal columns: c^H s c = 1) to c. Returns 0, or -1 / -2 as
 * qdml_herm_eig (-1 also when nothing is kept). */
int qdml_herm_gen_eig(int n, const double *a, const double *s, double rel_floor, int *rank, double *w, double *c);

#endif
