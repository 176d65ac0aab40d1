/* Preloaded into the MPI jobs of test_mpi.c under the sanitizers (ASAN_OPTIONS set): dlclose does nothing,
 * so that Open MPI's components, which it loads with dlopen and unloads in MPI_Finalize, are still mapped
 * when LeakSanitizer looks at the process's end. What they keep for the life of the process is then
 * named by its module and suppressed (scripts/lsan.supp: mca_*), and a leak of qdml's own stays a leak;
 * with the modules unloaded every such frame reads "<unknown module>" and cannot be told apart. */
int dlclose(void *handle);
int dlclose(void *handle) {
    (void)handle;
    return 0;
}
