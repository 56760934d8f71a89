/* libtwarondyn.so: a DT_NEEDED library of main.c, with TLS and a constructor. */
int lib_constructed;
static __thread int counter;

__attribute__((constructor)) static void init(void)
{
    lib_constructed = 1;
}

int lib_add(int a, int b)
{
    return a + b;
}

int lib_tls_bump(void)
{
    return ++counter;
}
